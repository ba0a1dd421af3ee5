package io.tcphardening.agent;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * What the bridge calls. Each method delegates at once to the hardener and never throws: whatever goes wrong is
 * counted and logged as the agent's failure, and the application's call goes on as without the agent.
 */
final class Hooks {

    private static volatile SocketHardener hardener;
    private static volatile HardeningLog log;

    private Hooks() {
        // no instances
    }

    static void install(SocketHardener socketHardener, HardeningLog hardeningLog) {
        log = hardeningLog;
        hardener = socketHardener;
    }

    static MethodHandle events() throws ReflectiveOperationException {
        return MethodHandles.lookup().findStatic(Hooks.class, "onEvent",
                MethodType.methodType(void.class, Object.class, int.class));
    }

    static MethodHandle options() throws ReflectiveOperationException {
        return MethodHandles.lookup().findStatic(Hooks.class, "onOption",
                MethodType.methodType(Object.class, Object.class, Object.class, Object.class));
    }

    /** Bridge event codes: see {@code TcpHardeningBridge}. */
    static void onEvent(Object socket, int event) {
        SocketHardener current = hardener;
        if (current == null || socket == null) {
            return;
        }
        try {
            if (event == 0) {
                current.created(socket);
            } else {
                current.established(socket, event == 2);
            }
        } catch (Throwable t) {
            failed(socket, t);
        }
    }

    static Object onOption(Object socket, Object name, Object value) {
        SocketHardener current = hardener;
        if (current == null || socket == null || name == null) {
            return value;
        }
        try {
            return current.applicationSets(socket, name, value);
        } catch (Throwable t) {
            failed(socket, t);
            return value;
        }
    }

    private static void failed(Object socket, Throwable t) {
        try {
            log.failure("internal error: " + t.getClass().getName(),
                    "internal error while hardening a " + socket.getClass().getName() + ": " + t);
        } catch (Throwable ignored) {
            // even logging failed (out of memory?): stay out of the application's way
        }
    }
}
