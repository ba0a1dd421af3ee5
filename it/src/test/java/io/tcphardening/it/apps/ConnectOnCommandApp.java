package io.tcphardening.it.apps;

import java.io.BufferedReader;
import java.io.InputStreamReader;

/**
 * Opens its connections ({@link Connections}) only when told to: a line on standard input. Then {@code READY}, and
 * waits for another line. So a test decides when the JVM's first socket is opened.
 */
public final class ConnectOnCommandApp {

    private ConnectOnCommandApp() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        in.readLine();
        Connections.open("on-command");
        System.out.println("READY");
        System.out.flush();
        in.readLine();
    }
}
