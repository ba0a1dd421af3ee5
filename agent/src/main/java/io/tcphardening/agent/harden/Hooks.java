package io.tcphardening.agent.harden;

import io.tcphardening.agent.observe.AgentStatus;
import io.tcphardening.agent.observe.HardeningLog;
import java.security.AccessController;
import java.security.PrivilegedActionException;
import java.security.PrivilegedExceptionAction;
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

    private final SocketHardener hardener;
    private final HardeningLog log;

    public Hooks(SocketHardener hardener, HardeningLog log) {
        this.hardener = hardener;
        this.log = log;
        // Loaded now: loaded at the first hook under a security manager, our class loader would read the jar with
        // only the application's permissions.
        Privileged.class.getName();
    }

    /**
     * A bridge event: {@code TcpHardeningBridge.CREATED} (0), {@code CONNECTED} (1), {@code ACCEPTED} (2) or
     * {@code OPTION_WRITTEN} (4), or {@code MBEAN_SERVER} (3), when {@code socket} is the platform MBean server.
     */
    @Override
    public void accept(Object socket, int event) {
        if (socket == null) {
            return;
        }
        try {
            if (System.getSecurityManager() != null) {
                AccessController.doPrivileged(new Privileged(this, socket, event, null));
            } else {
                event(socket, event);
            }
        } catch (Throwable t) {
            failed(socket, t);
        }
    }

    private void event(Object socket, int event) throws Exception {
        if (event == 3) {
            AgentStatus.register(socket, hardener, log);
        } else if (event == 0) {
            hardener.created(socket);
        } else if (event == 4) {
            hardener.applicationWrote(socket);
        } else {
            hardener.established(socket, event == 2);
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
                return AccessController.doPrivileged(new Privileged(this, socket, -1, nameAndValue));
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

        Privileged(Hooks hooks, Object socket, int event, Object[] nameAndValue) {
            this.hooks = hooks;
            this.socket = socket;
            this.event = event;
            this.nameAndValue = nameAndValue;
        }

        @Override
        public Object run() throws Exception {
            if (nameAndValue != null) {
                return hooks.hardener.applicationSets(socket, nameAndValue[0], nameAndValue[1]);
            }
            hooks.event(socket, event);
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
