package io.tcphardening.bench;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;

/**
 * The large application of the start-up benchmark: loads at least 10,000 classes before its first connection (as a
 * framework's start does: here classes of the JDK's own modules, plus Reactor Netty), then serves one HTTP request
 * to itself over Reactor Netty and exits. Every class loaded passes the agent's transformer's name check.
 */
public final class LargeApp {

    static final int CLASSES = 10_000;

    private LargeApp() {
    }

    public static void main(String[] args) throws Exception {
        FileSystem jrt = FileSystems.getFileSystem(URI.create("jrt:/"));
        ClassLoader loader = LargeApp.class.getClassLoader();
        for (String module : List.of("java.base", "java.desktop", "java.xml", "java.sql", "java.naming",
                "java.management", "jdk.compiler", "java.logging")) {
            if (loaded() >= CLASSES) {
                break;
            }
            Path root = jrt.getPath("/modules", module);
            if (!Files.exists(root)) {
                continue;
            }
            List<String> names;
            try (Stream<Path> files = Files.walk(root)) {
                names = files.map(p -> root.relativize(p).toString()).filter(n -> n.endsWith(".class")
                        && !n.equals("module-info.class")).map(n -> n.substring(0, n.length() - 6).replace('/', '.'))
                        .collect(Collectors.toList());
            }
            for (Iterator<String> it = names.iterator(); it.hasNext() && loaded() < CLASSES; ) {
                try {
                    Class.forName(it.next(), false, loader);
                } catch (Throwable notLoadable) {
                    // not exported to us, or needs what is absent: skip it
                }
            }
        }
        DisposableServer server = HttpServer.create().host("127.0.0.1").port(0)
                .route(routes -> routes.get("/", (request, response) -> response.sendString(Mono.just("ok"))))
                .bindNow();
        String body = HttpClient.create().get().uri("http://127.0.0.1:" + server.port() + "/")
                .responseContent().aggregate().asString().block();
        server.disposeNow();
        if (!"ok".equals(body) || loaded() < CLASSES) {
            throw new IllegalStateException("body " + body + ", classes " + loaded());
        }
        if (args.length > 0) {
            System.out.println("classes " + loaded());
        }
        System.exit(0);
    }

    private static long loaded() {
        return ManagementFactory.getClassLoadingMXBean().getLoadedClassCount();
    }
}
