package io.tcphardening.it.apps;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.concurrent.CountDownLatch;

/**
 * Its first connections are opened inside static initializers, so that the agent's hooks run (and the JDK's socket
 * classes are loaded and rewritten for the first time) while an application class is still being initialised. Two
 * holder classes are initialised at the same moment from two threads, and each thread then also needs the other's
 * class, so that one of them waits for an initialiser that is connecting. Then {@code READY}; waits for a line.
 */
public final class StaticInitConnectionsApp {

    private StaticInitConnectionsApp() {
    }

    /** Connects while being initialised. */
    static final class First {
        static final boolean OPENED;

        static {
            Connections.open("static-init-first");
            OPENED = true;
        }
    }

    /** Connects while being initialised, on the other thread. */
    static final class Second {
        static final boolean OPENED;

        static {
            Connections.open("static-init-second");
            OPENED = true;
        }
    }

    public static void main(String[] args) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        boolean[] seen = new boolean[2];
        Thread other = new Thread(() -> {
            try {
                go.await();
            } catch (InterruptedException e) {
                return;
            }
            seen[0] = Second.OPENED && First.OPENED;
        }, "static-init-other");
        other.start();
        go.countDown();
        seen[1] = First.OPENED && Second.OPENED;
        other.join();
        System.out.println("INITIALISED " + seen[0] + " " + seen[1]);
        System.out.println("READY");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in)).readLine();
    }
}
