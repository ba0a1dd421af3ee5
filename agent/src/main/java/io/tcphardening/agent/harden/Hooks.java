package io.tcphardening.agent.harden;

import io.tcphardening.agent.observe.AgentStatus;
import io.tcphardening.agent.observe.HardeningLog;
import java.util.function.BiFunction;
import java.util.function.ObjIntConsumer;

/**
 * What the bridge calls. Each method delegates at once to the hardener and never throws: whatever goes wrong is
 * counted and logged as the agent's failure, and the application's call goes on as without the agent.
 */
public final class Hooks implements ObjIntConsumer<Object>, BiFunction<Object, Object[], Object> {

    private final SocketHardener hardener;
    private final HardeningLog log;

    public Hooks(SocketHardener hardener, HardeningLog log) {
        this.hardener = hardener;
        this.log = log;
    }

    /**
     * A bridge event: {@code TcpHardeningBridge.CREATED} (0), {@code CONNECTED} (1) or {@code ACCEPTED} (2), or
     * {@code MBEAN_SERVER} (3), when {@code socket} is the platform MBean server.
     */
    @Override
    public void accept(Object socket, int event) {
        if (socket == null) {
            return;
        }
        try {
            if (event == 3) {
                AgentStatus.register(socket, hardener, log);
            } else if (event == 0) {
                hardener.created(socket);
            } else {
                hardener.established(socket, event == 2);
            }
        } catch (Throwable t) {
            failed(socket, t);
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
            return hardener.applicationSets(socket, nameAndValue[0], value);
        } catch (Throwable t) {
            failed(socket, t);
            return value;
        }
    }

    private void failed(Object socket, Throwable t) {
        try {
            log.failure("internal error: " + t.getClass().getName(),
                    "internal error while hardening a " + socket.getClass().getName() + ": " + t);
        } catch (Throwable ignored) {
            // even logging failed (out of memory?): stay out of the application's way
        }
    }
}
