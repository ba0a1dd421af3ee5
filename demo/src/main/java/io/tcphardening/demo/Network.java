package io.tcphardening.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Two hosts on one machine: network namespaces {@code server} and {@code client} joined by a veth pair, with
 * link-local addresses. Taking the server's end of the link down is a pulled cable: nothing is answered, nothing is
 * reset. Names carry this process's pid, so that concurrent runs do not meet, and leftovers of a killed run are
 * recognised and removed.
 */
final class Network implements AutoCloseable {

    static final String CLIENT_ADDRESS = "169.254.77.1";
    static final String SERVER_ADDRESS = "169.254.77.2";
    private static final String PREFIX = "tcph-";

    final String server;
    final String client;
    private final String serverLink;
    private final String clientLink;

    private Network(long id) {
        this.server = PREFIX + "srv-" + id;
        this.client = PREFIX + "cli-" + id;
        // interface names are at most 15 characters
        this.serverLink = "tcphs" + (id % 1_000_000);
        this.clientLink = "tcphc" + (id % 1_000_000);
    }

    /** Creates both hosts and the link between them; throws with the command's own words if it cannot. */
    static Network create() throws IOException {
        removeLeftovers();
        Network network = new Network(ProcessHandle.current().pid());
        try {
            ip("netns", "add", network.server);
            ip("netns", "add", network.client);
            ip("link", "add", network.clientLink, "netns", network.client, "type", "veth", "peer", "name",
                    network.serverLink, "netns", network.server);
            ip("-n", network.client, "addr", "add", CLIENT_ADDRESS + "/30", "dev", network.clientLink);
            ip("-n", network.server, "addr", "add", SERVER_ADDRESS + "/30", "dev", network.serverLink);
            for (String[] end : new String[][] {{network.client, network.clientLink}, {network.server, network.serverLink}}) {
                ip("-n", end[0], "link", "set", end[1], "up");
                ip("-n", end[0], "link", "set", "lo", "up");
            }
            // Pin the client's neighbour entry: otherwise the pull flushes it, ARP fails after ~3 s and the client
            // gets "No route to host", a local signal a peer vanishing behind a live router never gives.
            String mac = ip("-n", network.server, "-o", "link", "show", network.serverLink)
                    .replaceAll("(?s).*link/ether ([0-9a-f:]+).*", "$1").trim();
            ip("-n", network.client, "neigh", "replace", SERVER_ADDRESS, "lladdr", mac, "dev", network.clientLink,
                    "nud", "permanent");
            return network;
        } catch (IOException e) {
            network.close();
            throw e;
        }
    }

    /** Runs {@code command} inside {@code namespace}. */
    List<String> inside(String namespace, List<String> command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        full.addAll(command);
        return full;
    }

    /** Pulls the cable: the server's end of the link goes down. */
    void pullCable() throws IOException {
        ip("-n", server, "link", "set", serverLink, "down");
    }

    @Override
    public void close() {
        for (String namespace : new String[] {client, server}) {
            try {
                ip("netns", "del", namespace);
            } catch (IOException ignored) {
                // not created, or already gone
            }
        }
    }

    /** Namespaces of earlier runs whose process is gone (killed before it could clean up). */
    private static void removeLeftovers() {
        try {
            for (String name : ip("netns", "list").split("\n")) {
                String namespace = name.trim().split(" ")[0];
                if (namespace.startsWith(PREFIX)) {
                    long pid = Long.parseLong(namespace.substring(namespace.lastIndexOf('-') + 1));
                    if (ProcessHandle.of(pid).isEmpty()) {
                        ip("netns", "del", namespace);
                    }
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // nothing to clean, or no ip at all: create() will say so
        }
    }

    static String ip(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + ": " + output.trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return output;
    }
}
