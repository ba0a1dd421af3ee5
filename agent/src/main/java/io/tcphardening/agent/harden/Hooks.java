package io.tcphardening.agent.harden;

import io.tcphardening.agent.observe.AgentStatus;
import io.tcphardening.agent.observe.HardeningLog;
import java.security.AccessController;
import java.security.PrivilegedActionException;
import java.security.PrivilegedExceptionAction;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.ObjIntConsumer;

/**
 * What the bridge calls. Each method delegates at once to the hardener and never throws: whatever goes wrong is
 * counted and logged as the agent's failure, and the application's call goes on as without the agent.
 *
 * <p>Under a security manager the hooks run with the application's code on the stack, whose policy may grant it
 * little (no reflection, no property reads): there the hardener runs privileged, with the agent jar's own
 * permissions, as an agent granted them expects. Without one (always on JDK 24 and later) nothing is wrapped.
 */
public final class Hooks implements ObjIntConsumer<Object>, BiFunction<Object, Object[], Object> {

    /** Events with an argument, beyond the bridge's own numbers. */
    private static final int CONNECTING = 5;
    private static final int OPTION_WRITTEN = 4;

    private final SocketHardener hardener;
    private final HardeningLog log;
    /** {@code connecting(socket, destination)}. */
    public final BiConsumer<Object, Object> connects = new WithArgument(this, CONNECTING);
    /** {@code optionWritten(socket, name)}: the legacy implementation's own writes. */
    public final BiConsumer<Object, Object> writes = new WithArgument(this, OPTION_WRITTEN);

    public Hooks(SocketHardener hardener, HardeningLog log) {
        this.hardener = hardener;
        this.log = log;
        // Loaded now: loaded at the first hook under a security manager, our class loader would read the jar with
        // only the application's permissions.
        Privileged.class.getName();
    }

    /**
     * A bridge event: {@code TcpHardeningBridge.CREATED} (0), {@code CONNECTED} (1), {@code ACCEPTED} (2), or
     * {@code MBEAN_SERVER} (3), when {@code socket} is the platform MBean server.
     */
    @Override
    public void accept(Object socket, int event) {
        event(socket, event, null);
    }

    private void event(Object socket, int event, Object argument) {
        if (socket == null) {
            return;
        }
        try {
            if (System.getSecurityManager() != null) {
                AccessController.doPrivileged(new Privileged(this, socket, event, null, argument));
            } else {
                run(socket, event, argument);
            }
        } catch (Throwable t) {
            failed(socket, t);
        }
    }

    private void run(Object socket, int event, Object argument) throws Exception {
        if (event == 3) {
            AgentStatus.register(socket, hardener, log);
        } else if (event == 0) {
            hardener.created(socket);
        } else if (event == CONNECTING) {
            hardener.connecting(socket, argument);
        } else if (event == OPTION_WRITTEN) {
            hardener.applicationWrote(socket, argument);
        } else {
            hardener.established(socket, event == 2);
        }
    }

    /** The bridge's handlers that take a second argument: the destination, or the option written. */
    private static final class WithArgument implements BiConsumer<Object, Object> {
        private final Hooks hooks;
        private final int event;

        WithArgument(Hooks hooks, int event) {
            this.hooks = hooks;
            this.event = event;
        }

        @Override
        public void accept(Object socket, Object argument) {
            hooks.event(socket, event, argument);
        }
    }

    /** The application sets an option: {@code nameAndValue} is {name, value}; returns the value to set instead. */
    @Override
    public Object apply(Object socket, Object[] nameAndValue) {
        Object value = nameAndValue[1];
        if (socket == null || nameAndValue[0] == null) {
            return value;
        }
        try {
            if (System.getSecurityManager() != null) {
                return AccessController.doPrivileged(new Privileged(this, socket, -1, nameAndValue, null));
            }
            return hardener.applicationSets(socket, nameAndValue[0], value);
        } catch (Throwable t) {
            failed(socket, t);
            return value;
        }
    }

    /** One hook's work, run with the agent's permissions. */
    private static final class Privileged implements PrivilegedExceptionAction<Object> {
        private final Hooks hooks;
        private final Object socket;
        private final int event;
        private final Object[] nameAndValue;
        private final Object argument;

        Privileged(Hooks hooks, Object socket, int event, Object[] nameAndValue, Object argument) {
            this.hooks = hooks;
            this.socket = socket;
            this.event = event;
            this.nameAndValue = nameAndValue;
            this.argument = argument;
        }

        @Override
        public Object run() throws Exception {
            if (nameAndValue != null) {
                return hooks.hardener.applicationSets(socket, nameAndValue[0], nameAndValue[1]);
            }
            hooks.run(socket, event, argument);
            return null;
        }
    }

    private void failed(Object socket, Throwable t) {
        if (t instanceof PrivilegedActionException) {
            t = t.getCause();
        }
        try {
            log.failure("internal error: " + t.getClass().getName(),
                    "internal error while hardening a " + socket.getClass().getName() + ": " + t);
        } catch (Throwable ignored) {
            // even logging failed (out of memory?): stay out of the application's way
        }
    }
}
