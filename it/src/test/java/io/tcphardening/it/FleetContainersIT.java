package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.PodApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.Podman;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet recipes in a real container runtime: the agent's image (image/, built by Jib without a daemon) loaded by
 * Podman, and {@code deploy/kubernetes} played with {@code podman kube play}, each pod with no network but its own
 * loopback ({@code --network none}). The application in the pods ({@link PodApp}) runs on a Java runtime made here
 * ({@code jlink} of this JVM's JDK and the shared libraries it needs, imported with {@code podman import}: no registry
 * is reachable). Every connection is read from outside the container, on the host, by {@link KernelProbe}.
 *
 * <p>Two adaptations to Podman 4.3 (Debian 12), both in the test's copy of a recipe, never in the recipe: the pod's
 * {@code restartPolicy} becomes {@code Never}, because Podman 4.3 applies a Deployment's {@code Always} to init
 * containers too (it restarts the finished copy, then fails to remove it), and would restart the application that a
 * bad setting stops; and a ConfigMap given with {@code --configmap} is kept by Podman as a volume that outlives the
 * pod, so it is removed with the pod, as Kubernetes would hand the next pod the changed ConfigMap.
 */
class FleetContainersIT {

    private static final String VERSION = System.getProperty("project.version");
    private static final String AGENT_IMAGE = "localhost/tcp-hardening-agent:" + VERSION;
    private static final String APP_CONTAINER = "my-app-pod-0-app";
    /** The documented contents of the agent's image: README, "Roll out to a fleet". */
    private static final Set<String> IMAGE_FILES = Set.of("tcp-hardening", "tcp-hardening/tcp-hardening-agent.jar",
            "tcp-hardening/agent.properties", "tcp-hardening/copy");

    private static Podman podman;
    private static String appImage;

    @TempDir
    Path temp;

    @BeforeAll
    static void imagesLoaded() throws Exception {
        podman = Podman.get();
        removeAll();  // what a killed earlier run left
        Path tar = Paths.get(System.getProperty("image.dir"), "target", "tcp-hardening-agent-image.tar");
        assertTrue(Files.isRegularFile(tar), tar + ": the image module's build writes it");
        String loaded = podman.ok(Duration.ofMinutes(2), "load", "-i", tar.toString());
        assertTrue(loaded.contains("Loaded image: " + AGENT_IMAGE), loaded);
        appImage = appImage();
    }

    @AfterAll
    static void removed() {
        if (podman != null) {
            removeAll();
        }
    }

    private static void removeAll() {
        podman.run(Duration.ofMinutes(1), "pod", "rm", "--all", "--force");
        podman.run(Duration.ofMinutes(1), "rm", "--all", "--force");
        podman.run(Duration.ofMinutes(1), "volume", "prune", "--force");
    }

    @Test
    void theImageHoldsTheDocumentedFilesAndTwoBuildsGiveOneDigest() throws Exception {
        Path imageDir = Paths.get(System.getProperty("image.dir"));
        String built = Files.readString(imageDir.resolve("target/jib-image.digest")).trim();
        assertEquals(built, inspect(AGENT_IMAGE, "{{.Digest}}"), "podman load keeps the digest Jib computed");
        assertEquals(List.of("/tcp-hardening/copy", "/tcp-hardening/tcp-hardening-agent.jar",
                "/tcp-hardening/agent.properties", "/agent"),
                List.of(inspect(AGENT_IMAGE, "{{range .Config.Entrypoint}}{{.}} {{end}}").split(" ")));

        Path root = Paths.get(podman.ok(Duration.ofMinutes(1), "image", "mount", AGENT_IMAGE).trim());
        try {
            Set<String> files;
            try (Stream<Path> walk = Files.walk(root)) {
                files = walk.filter(p -> !p.equals(root)).map(p -> root.relativize(p).toString())
                        .collect(Collectors.toCollection(TreeSet::new));
            }
            assertEquals(new TreeSet<>(IMAGE_FILES), files);
            assertArrayEquals(Files.readAllBytes(AgentJar.path()),
                    Files.readAllBytes(root.resolve("tcp-hardening/tcp-hardening-agent.jar")), "the agent jar as built");
            assertTrue(Files.isExecutable(root.resolve("tcp-hardening/copy")));
            // The default settings must be a configuration the agent accepts without a warning.
            ForkedJvm.Result check = ForkedJvm.on(Jdks.all().get(0)).jvmArg("-jar").jvmArg(AgentJar.path().toString())
                    .args("check", "--strict", "config=" + root.resolve("tcp-hardening/agent.properties"))
                    .run(Duration.ofSeconds(60));
            assertEquals(0, check.exitCode, check.toString());
        } finally {
            podman.ok(Duration.ofMinutes(1), "image", "unmount", AGENT_IMAGE);
        }

        // A second build later, from copies of the inputs with other file times, into a separate cache and tar: what
        // a build from the same commit elsewhere does to the image. Only Jib runs, on the first build's jar and copy
        // command: rebuilding those too would cost this suite minutes (the jar's own reproducibility comes from the
        // build's fixed entry times, see the parent pom).
        Path inputs = temp.resolve("image-root");
        copyTree(imageDir.resolve("target/image-root"), inputs);
        Path second = temp.resolve("second.tar");
        Path maven = Paths.get(System.getProperty("maven.home", "/usr/share/maven"), "bin", "mvn");
        Process rebuild = new ProcessBuilder(Files.isExecutable(maven) ? maven.toString() : "mvn", "-o", "-q", "-B",
                "-f", imageDir.resolve("pom.xml").toString(), "jib:buildTar@image-tar",
                "-Dimage.root=" + inputs, "-Dimage.tar=" + second,
                "-Djib.applicationCache=" + temp.resolve("jib-cache"),
                "-Djib.outputPaths.digest=" + temp.resolve("digest"), "-Djib.outputPaths.imageId=" + temp.resolve("id"),
                "-Djib.outputPaths.imageJson=" + temp.resolve("image.json"))
                .redirectErrorStream(true).start();
        String printed = new String(rebuild.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, rebuild.waitFor(), "the second build: " + printed);
        assertFalse(Files.getLastModifiedTime(inputs.resolve("tcp-hardening/copy")).equals(
                Files.getLastModifiedTime(imageDir.resolve("target/image-root/tcp-hardening/copy"))),
                "the second build's inputs have other times");
        podman.ok(Duration.ofMinutes(2), "load", "-i", second.toString());
        assertEquals(built, inspect(AGENT_IMAGE, "{{.Digest}}"), "the second build's image, loaded");
    }

    @Test
    void theInitContainerRecipeHardensEveryConnectionWithTheConfigMapsValues() throws Exception {
        Path recipe = Paths.get(System.getProperty("deploy.dir"), "kubernetes", "init-container");
        Path deployment = playable(Files.readString(recipe.resolve("deployment.yaml")), "deployment.yaml");
        String configMap = Files.readString(recipe.resolve("configmap.yaml"));

        Path original = write("configmap.yaml", configMap);
        play(deployment, "--configmap", original.toString());
        String logs = awaitReady();
        assertConnections("1 30 5 4 50000");
        assertTrue(logs.contains(" tcp-hardening INFO: tcp-hardening-agent " + VERSION + " active on JDK "), logs);
        assertTrue(logs.contains("keepalive.idle=30s (/etc/tcp-hardening/agent.properties:1)"), logs);
        assertTrue(logs.contains(" tcp-hardening INFO: Socket connect 127.0.0.1:"), logs);
        assertTrue(logs.contains(" tcp-hardening INFO: SocketChannel accept 127.0.0.1:"), logs);
        down(deployment, "tcp-hardening-config");

        // The ConfigMap changed, the pod started again: the new values.
        Path changed = write("configmap-changed.yaml", replace(configMap, "keepalive.idle = 30s", "keepalive.idle = 45s",
                "user_timeout = 50s", "user_timeout = 70s"));
        play(deployment, "--configmap", changed.toString());
        awaitReady();
        assertConnections("1 45 5 4 70000");
        down(deployment, "tcp-hardening-config");

        // A value the agent rejects: the application container never runs the application.
        Path bad = write("configmap-bad.yaml", replace(configMap, "keepalive.idle = 30s", "keepalive.idle = 30"));
        play(deployment, "--configmap", bad.toString());
        assertEquals("2", podman.ok(Duration.ofMinutes(1), "wait", APP_CONTAINER).trim(), logs(APP_CONTAINER));
        List<String> lines = logs(APP_CONTAINER).lines()
                .filter(l -> !l.startsWith("Picked up JAVA_TOOL_OPTIONS")).collect(Collectors.toList());
        assertEquals(1, lines.size(), "one line, and nothing of the application: " + lines);
        assertTrue(lines.get(0).startsWith("tcp-hardening-agent: configuration error, the application was not "
                + "started: /etc/tcp-hardening/agent.properties:1: keepalive.idle = '30' has no unit"), lines.get(0));
        down(deployment, "tcp-hardening-config");
    }

    @Test
    void theKustomizeComponentAddsTheAgentToAPlainDeployment() throws Exception {
        List<String> kustomize = kustomizeCommand();
        Path recipes = Paths.get(System.getProperty("deploy.dir"), "kubernetes");
        // The user's Deployment: the init-container recipe without its lines marked "# add", the agent's part.
        Path base = Files.createDirectories(temp.resolve("base"));
        Files.writeString(base.resolve("deployment.yaml"), Files.readString(recipes.resolve("init-container/deployment.yaml"))
                .lines().filter(l -> !l.contains("# add")).collect(Collectors.joining("\n", "", "\n")));
        Files.writeString(base.resolve("kustomization.yaml"), "resources:\n- deployment.yaml\n");
        // The component copied beside it, as the README says, with settings of this test's own.
        Path component = temp.resolve("tcp-hardening");
        copyTree(recipes.resolve("kustomize"), component);
        Files.writeString(component.resolve("agent.properties"), "keepalive.idle = 21s\nkeepalive.interval = 3s\n"
                + "keepalive.count = 5\nuser_timeout = 36s\n");
        Path overlay = Files.createDirectories(temp.resolve("overlay"));
        Files.writeString(overlay.resolve("kustomization.yaml"),
                "resources:\n- ../base\ncomponents:\n- ../tcp-hardening\n");
        List<String> command = new ArrayList<>(kustomize);
        command.add(overlay.toString());
        Process build = new ProcessBuilder(command).start();
        String built = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String errors = new String(build.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, build.waitFor(), String.join(" ", command) + ": " + errors);
        Matcher configMapName = Pattern.compile("name: (tcp-hardening-config-\\w+)").matcher(built);
        assertTrue(configMapName.find(), "a ConfigMap named with the hash of agent.properties:\n" + built);

        Path played = playable(built, "kustomized.yaml");
        play(played);
        String logs = awaitReady();
        assertConnections("1 21 3 5 36000");
        assertTrue(logs.contains("keepalive.idle=21s (/etc/tcp-hardening/agent.properties:1)"), logs);
        down(played, configMapName.group(1));
    }

    @Test
    void theImageMountedAsAVolumeServesTheAgentJar() throws Exception {
        // Podman 4.3's kube play has no image volumes; podman run mounts the image the same way, at the recipe's
        // path, with the recipe's environment.
        Path recipes = Paths.get(System.getProperty("deploy.dir"), "kubernetes");
        String yaml = Files.readString(recipes.resolve("image-volume/deployment.yaml"));
        Matcher agent = Pattern.compile("value: -javaagent:(\\S+)/tcp-hardening/tcp-hardening-agent\\.jar").matcher(yaml);
        assertTrue(agent.find(), yaml);
        String mountPath = agent.group(1);
        assertTrue(yaml.contains("mountPath: " + mountPath + "\n"), "the image volume is mounted at " + mountPath);
        assertTrue(yaml.contains("reference: registry.example.com/tcp-hardening-agent:"), yaml);
        Matcher config = Pattern.compile("name: TCPHARDENING_CONFIG\\s+value: (\\S+)/agent\\.properties").matcher(yaml);
        assertTrue(config.find(), yaml);
        Path configDir = Files.createDirectories(temp.resolve("config"));
        Files.writeString(configDir.resolve("agent.properties"), "keepalive.idle = 17s\nuser_timeout = 9s\n");

        podman.ok(Duration.ofMinutes(1), "run", "--detach", "--name", APP_CONTAINER, "--network", "none",
                "--mount", "type=image,source=" + AGENT_IMAGE + ",destination=" + mountPath,
                "--volume", configDir + ":" + config.group(1) + ":ro",
                "--env", "JAVA_TOOL_OPTIONS=-javaagent:" + mountPath + "/tcp-hardening/tcp-hardening-agent.jar",
                "--env", "TCPHARDENING_CONFIG=" + config.group(1) + "/agent.properties", appImage);
        awaitReady();
        assertConnections("1 17 10 6 9000");
        podman.ok(Duration.ofMinutes(1), "rm", "--force", APP_CONTAINER);
    }

    /** The recipe's Deployment with this test's images and the restart policy Podman 4.3 needs (see above). */
    private Path playable(String yaml, String name) throws IOException {
        String images = replace(yaml, "registry.example.com/tcp-hardening-agent:0.1.0", AGENT_IMAGE,
                "registry.example.com/my-app:1.0", appImage);
        String pod = images.replaceFirst("(?m)^(    spec:\n)", "$1      restartPolicy: Never\n");
        assertFalse(pod.equals(images), "a pod template in " + name);
        return write(name, pod);
    }

    private static void play(Path yaml, String... options) {
        List<String> args = new ArrayList<>(List.of("kube", "play", "--network", "none"));
        args.addAll(List.of(options));
        args.add(yaml.toString());
        podman.ok(Duration.ofMinutes(2), args.toArray(new String[0]));
    }

    private static void down(Path yaml, String configMapVolume) {
        podman.ok(Duration.ofMinutes(1), "kube", "down", yaml.toString());
        podman.run(Duration.ofMinutes(1), "volume", "rm", "--force", configMapVolume);
    }

    /** The application container's log once it printed READY. */
    private static String awaitReady() throws InterruptedException {
        return awaitLogs(APP_CONTAINER, logs -> logs.contains("\nREADY\n"), Duration.ofSeconds(60));
    }

    private static String awaitLogs(String container, Predicate<String> ready, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String logs = logs(container);
            if (ready.test(logs)) {
                return logs;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not ready within " + timeout + ":\n" + logs + "\n"
                        + podman.run(Duration.ofMinutes(1), "ps", "--all"));
            }
            Thread.sleep(200);
        }
    }

    private static String logs(String container) {
        Podman.Result result = podman.run(Duration.ofMinutes(1), "logs", container);
        return result.stdout + result.stderr;
    }

    /**
     * Every TCP socket of the application, read on the host through the container's process: the two listeners and
     * each end the application reported, all with {@code expected}, all on loopback.
     */
    private static void assertConnections(String expected) {
        long pid = Long.parseLong(inspect(APP_CONTAINER, "{{.State.Pid}}"));
        List<KernelSocket> sockets = KernelProbe.read(pid).stream().filter(s -> s.protocol.startsWith("tcp"))
                .collect(Collectors.toList());
        String context = sockets.stream().map(KernelSocket::toString).collect(Collectors.joining("\n"))
                + "\n" + logs(APP_CONTAINER);
        List<String> reported = logs(APP_CONTAINER).lines().filter(l -> l.startsWith("CONN "))
                .collect(Collectors.toList());
        assertEquals(6, reported.size(), context);
        for (String line : reported) {
            String[] conn = line.split(" ");
            assertTrue(sockets.stream().anyMatch(s -> s.localPort == Integer.parseInt(conn[2])
                    && s.remotePort == Integer.parseInt(conn[3])), "no kernel socket for " + line + "\n" + context);
        }
        assertEquals(8, sockets.size(), "two listeners and six connection ends\n" + context);
        for (KernelSocket socket : sockets) {
            assertEquals(expected, socket.options(), socket + "\n" + context);
            assertTrue(loopback(socket.local) && (socket.isListener() || loopback(socket.remote)), socket.toString());
        }
    }

    private static boolean loopback(String address) {
        return address.startsWith("127.") || address.startsWith("[::ffff:127.") || address.startsWith("[::1]");
    }

    private static String inspect(String name, String format) {
        return podman.ok(Duration.ofMinutes(1), "inspect", "--format", format, name).trim();
    }

    /**
     * The image of the pods' application: a runtime {@code jlink}ed from this JVM's JDK with the modules the README
     * suggests for slim images, the shared libraries it loads, and {@link PodApp}. Made once per JDK and application,
     * kept in the tests' storage under a tag of their hash.
     */
    private static String appImage() throws Exception {
        Path javaHome = Paths.get(System.getProperty("java.home"));
        String modules = "java.base,java.instrument,jdk.jfr,java.management,jdk.net";
        Path classes = Paths.get(AgentJar.testClasses());
        String appClass = PodApp.class.getName().replace('.', '/') + ".class";
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(Files.readAllBytes(javaHome.resolve("release")));
        sha.update((javaHome + modules).getBytes(StandardCharsets.UTF_8));
        sha.update(Files.readAllBytes(classes.resolve(appClass)));
        StringBuilder tag = new StringBuilder();
        for (byte b : sha.digest()) {
            tag.append(String.format("%02x", b));
        }
        String image = "localhost/tcph-it-app:" + tag.substring(0, 16);
        if (podman.run(Duration.ofMinutes(1), "image", "exists", image).exitCode == 0) {
            return image;
        }
        Path rootfs = podman.home().resolve("rootfs");
        deleteTree(rootfs);
        Path java = rootfs.resolve("opt/java");
        Files.createDirectories(java.getParent());
        run(javaHome.resolve("bin/jlink").toString(), "--add-modules", modules, "--output", java.toString(),
                "--strip-debug", "--no-header-files", "--no-man-pages");
        Set<String> libraries = new TreeSet<>();
        List<Path> elves;
        try (Stream<Path> walk = Files.walk(java)) {
            elves = walk.filter(p -> p.toString().endsWith(".so") || p.endsWith("bin/java")).collect(Collectors.toList());
        }
        Pattern resolved = Pattern.compile("(?:=> )?(/\\S+) \\(0x");
        for (Path elf : elves) {
            Matcher matcher = resolved.matcher(run("ldd", elf.toString()));
            while (matcher.find()) {
                if (!matcher.group(1).startsWith(java.toString())) {
                    libraries.add(matcher.group(1));
                }
            }
        }
        for (String library : libraries) {
            Path target = rootfs.resolve(library.substring(1));
            Files.createDirectories(target.getParent());
            Files.copy(Paths.get(library), target);  // follows links: the file the loader finds under that name
        }
        Path appTarget = rootfs.resolve("app/classes").resolve(appClass);
        Files.createDirectories(appTarget.getParent());
        Files.copy(classes.resolve(appClass), appTarget);
        Files.createDirectories(rootfs.resolve("tmp"));  // the JVM's perf data and the agent's attach files
        run("chmod", "1777", rootfs.resolve("tmp").toString());
        Path tar = podman.home().resolve("rootfs.tar");
        run("tar", "--owner=0", "--group=0", "-C", rootfs.toString(), "-cf", tar.toString(), ".");
        podman.ok(Duration.ofMinutes(2), "import", "--change",
                "ENTRYPOINT=[\"/opt/java/bin/java\",\"-cp\",\"/app/classes\",\"" + PodApp.class.getName() + "\"]",
                tar.toString(), image);
        Files.delete(tar);
        deleteTree(rootfs);
        return image;
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String printed = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.waitFor(), String.join(" ", command) + ": " + printed);
        return printed;
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(temp.resolve(name), content);
    }

    private static String replace(String text, String... pairs) {
        String result = text;
        for (int i = 0; i < pairs.length; i += 2) {
            assertTrue(result.contains(pairs[i]), "'" + pairs[i] + "' in\n" + result);
            result = result.replace(pairs[i], pairs[i + 1]);
        }
        return result;
    }

    /** kubectl's built-in kustomize, else a kustomize binary; the test is skipped, saying why, without either. */
    private static List<String> kustomizeCommand() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Paths.get(dir, "kubectl"))) {
                return List.of(Paths.get(dir, "kubectl").toString(), "kustomize");
            }
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Paths.get(dir, "kustomize"))) {
                return List.of(Paths.get(dir, "kustomize").toString(), "build");
            }
        }
        String reason = "neither kubectl (1.21+) nor kustomize (3.7+) is installed, and Debian 12 packages no kustomize "
                + "that has components: the Kustomize component is not built here";
        System.out.println("[containers] SKIPPED: " + reason);
        Assumptions.abort(reason);
        throw new AssertionError("unreachable");
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path source : (Iterable<Path>) walk::iterator) {
                Path target = to.resolve(from.relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path path : (Iterable<Path>) walk.sorted((a, b) -> b.compareTo(a))::iterator) {
                Files.delete(path);
            }
        }
    }
}
