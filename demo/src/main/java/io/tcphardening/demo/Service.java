package io.tcphardening.demo;

/**
 * The rules scene's connections: two services one application talks to over the same link, told apart by port only,
 * so that the demo's rule ({@code demo/rules.properties}) matches one and the global settings decide the other. Each
 * is held idle and busy, as the {@link Connection}s are, and all are {@code java.net.Socket}s.
 */
enum Service {
    DATABASE("database, port 7011", 7011),
    OTHER("other service, port 7012", 7012);

    final String label;
    final int port;

    Service(String label, int port) {
        this.label = label;
        this.port = port;
    }
}
