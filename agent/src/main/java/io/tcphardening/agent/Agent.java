package io.tcphardening.agent;

import io.tcphardening.agent.command.Cli;
import io.tcphardening.agent.harden.Hooks;
import io.tcphardening.agent.harden.JdkApiSocketOptions;
import io.tcphardening.agent.harden.JdkSocketRoute;
import io.tcphardening.agent.harden.NativeSocketOptions;
import io.tcphardening.agent.harden.SocketHardener;
import io.tcphardening.agent.instrument.BridgeInjector;
import io.tcphardening.agent.instrument.Coverage;
import io.tcphardening.agent.instrument.JdkClassPatcher;
import io.tcphardening.agent.instrument.JdkInternals;
import io.tcphardening.agent.instrument.SocketTransformer;
import io.tcphardening.agent.live.AgentProperties;
import io.tcphardening.agent.live.AttachReport;
import io.tcphardening.agent.live.ExistingSockets;
import io.tcphardening.agent.observe.AgentStatus;
import io.tcphardening.agent.observe.AgentVersion;
import io.tcphardening.agent.observe.HardeningLog;
import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.EnvironmentVariables;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.SettingsLoader;
import java.io.FileOutputStream;
import java.io.IOException;
import java.lang.instrument.Instrumentation;
import java.lang.instrument.UnmodifiableClassException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * The path from the JVM to the socket, in order: settings, log, JDK access, hardener, bridge, transformer. Started
 * by {@code io.tcphardening.boot.AgentEntry} inside the agent's own class loader.
 *
 * <p>Rules: an operator's configuration mistake stops the JVM's start with one line and exit status 2 (never at
 * attach, where the JVM is already serving); any other failure leaves the application running without the agent and
 * says so; starting twice updates the settings of the running agent instead of installing a second one.
 */
public final class Agent {

    private static final Object LOCK = new Object();
    private static volatile SocketHardener running;
    private static HardeningLog runningLog;

    static {
        // Hand AgentEntry our entry point through our class loader (see io.tcphardening.boot.AgentClassLoader).
        // Loaded any other way (unit tests), there is nobody to hand it to.
        if (Agent.class.getClassLoader() instanceof Consumer) {
            @SuppressWarnings("unchecked")
            Consumer<BiFunction<String, Object[], Object>> door =
                    (Consumer<BiFunction<String, Object[], Object>>) Agent.class.getClassLoader();
            door.accept(new EntryPoint());
        }
    }

    private Agent() {
        // no instances
    }

    /** {@code start(args, inst, live, jar)} and {@code main(args)}, called by AgentEntry. */
    private static final class EntryPoint implements BiFunction<String, Object[], Object> {
        @Override
        public Object apply(String command, Object[] a) {
            if (command.equals("main")) {
                // java -jar tcp-hardening-agent.jar ...: returns the exit status
                return Cli.run((String[]) a[0], System.out, System.err);
            }
            start((String) a[0], (Instrumentation) a[1], (Boolean) a[2], (Path) a[3]);
            return null;
        }
    }

    /** Called by {@code AgentEntry.premain} ({@code live} false) and {@code agentmain} ({@code live} true). */
    public static void start(String args, Instrumentation inst, boolean live, Path jar) {
        AttachReport report = live ? AttachReport.of(args) : null;
        HardeningLog log = running == null ? new HardeningLog() : null;
        Settings settings;
        try {
            settings = SettingsLoader.load(live ? report.settingsArgs() : args, SettingsLoader.systemProperties(),
                    EnvironmentVariables.withPrefix(SettingsLoader.ENV_PREFIX), jar.getParent());
            checkLogFile(settings);
        } catch (ConfigException e) {
            // at an attach, what stays: no agent at all (the first attach) or the running agent's settings
            String outcome = !live ? "the application was not started"
                    : running == null ? "the agent was not loaded" : "the running agent keeps its settings";
            System.err.println("tcp-hardening-agent: configuration error, " + outcome + ": " + e.getMessage());
            if (!live) {
                System.exit(ConfigException.EXIT_STATUS);
            }
            report.add("configuration error, " + outcome + ": " + e.getMessage());
            // the report is an agent property, in jdk.internal.vm: not opened yet if the agent was never started
            JdkInternals.open(inst);
            report.publish(AttachReport.CONFIG_ERROR);
            if (log != null) {
                log.installed(null);
            }
            return;
        }
        synchronized (LOCK) {
            if (running != null || log == null) {
                String before = running.settings().describeAll();
                running.update(settings);
                runningLog.warn("settings replaced for new connections: " + settings.describeAll());
                if (live) {
                    report.add("settings of the running agent replaced for new connections: " + settings.describeAll()
                            + " (before: " + before + ")");
                    hardenExisting(inst, report, AttachReport.UPDATED);  // publishes the new settings first
                } else {
                    publishSettings(running);
                }
                return;
            }
            if (!System.getProperty("os.name", "").startsWith("Linux")) {
                log.installed(null);
                notActive("NOT ACTIVE: it supports Linux only, this is " + System.getProperty("os.name"), report);
                return;
            }
            log.configure(settings);
            try {
                running = install(settings, inst, log, live);
                runningLog = log;
                SocketHardener hardener = running;
                if (live) {
                    AgentStatus.registerIfManaged(inst, hardener, log);
                }
                log.installed(new Runnable() {
                    @Override
                    public void run() {
                        publishSettings(hardener);
                    }
                });
                Coverage coverage = new Coverage("tcp-hardening-agent " + AgentVersion.version() + " active on JDK "
                        + System.getProperty("java.runtime.version") + ": ", settings);
                log.info(coverage);
                log.warn(coverage.uncovered());
                if (live) {
                    report.add("tcp-hardening-agent " + AgentVersion.version() + " loaded, new connections get: "
                            + settings.describeAll());
                    hardenExisting(inst, report, AttachReport.INSTALLED);
                }
                String limitation = running.jdkRouteLimitation();
                if (limitation != null) {
                    log.warn(limitation);
                }
            } catch (Throwable t) {
                log.installed(null);
                notActive("NOT ACTIVE, the application runs without it: " + t, report);
            }
        }
    }

    /** Says why the agent is not active, on the JVM's standard error and, at an attach, to the command. */
    private static void notActive(String why, AttachReport report) {
        System.err.println("tcp-hardening-agent: " + why);
        if (report != null) {
            report.add(why);
            report.publish(AttachReport.NOT_ACTIVE);
        }
    }

    /** At attach: the connections already open get the settings too; the report says which did and why not. */
    private static void hardenExisting(Instrumentation inst, AttachReport report, String outcome) {
        publishSettings(running);  // now, not on the agent's thread: inspect may ask as soon as the attach returns
        String summary;
        try {
            summary = new ExistingSockets(JdkInternals.open(inst)).harden(running);
        } catch (ReflectiveOperationException | RuntimeException e) {
            summary = "connections open before the attach: not hardened, this JDK's dup is out of reach: " + e;
        }
        runningLog.info(summary);
        report.add(summary);
        report.publish(outcome);
    }

    /** For tools outside the JVM ({@code inspect}); a JDK that moved its agent properties only loses that view. */
    private static void publishSettings(SocketHardener hardener) {
        try {
            AgentProperties.publishSettings(hardener);
        } catch (ReflectiveOperationException | RuntimeException e) {
            runningLog.debug("settings not published as agent properties: " + e);
        }
    }

    private static SocketHardener install(Settings settings, Instrumentation inst, HardeningLog log, boolean live)
            throws Exception {
        JdkInternals jdk = JdkInternals.open(inst);
        SocketHardener hardener = new SocketHardener(settings, jdkSocketRoute(jdk), log, jdk);
        Hooks hooks = new Hooks(hardener, log);
        BridgeInjector.inject(jdk, hooks, hooks, hooks.connects, hooks.writes);
        JdkClassPatcher.loadClasses();
        // Register first, then retransform what is loaded already: a target may load in between.
        inst.addTransformer(new SocketTransformer(log), true);
        boolean socketsMayExist = retransformLoaded(inst);
        hardener.listSocketsBefore(socketsMayExist || live);
        return hardener;
    }

    /**
     * The JDK's setsockopt natives where they are; on a JDK that has moved or changed them, the JDK's public socket
     * API, which applies every option but TCP_USER_TIMEOUT: a degraded agent rather than none.
     */
    private static JdkSocketRoute jdkSocketRoute(JdkInternals jdk) throws ReflectiveOperationException {
        try {
            return new NativeSocketOptions(jdk);
        } catch (ReflectiveOperationException | RuntimeException missing) {
            return new JdkApiSocketOptions(missing);
        }
    }

    /** Returns whether a JDK socket class was in use already: sockets may then exist that the hooks never saw. */
    private static boolean retransformLoaded(Instrumentation inst) throws UnmodifiableClassException {
        // Compared with Class.getName() as it is: turning each of the ~1,000 loaded names into the internal form
        // instead cost a median 7-8 ms of premain on JDK 17 and 25 (still interpreted), this 1.4-1.9 ms.
        Set<String> targets = new HashSet<>();
        for (String internalName : SocketTransformer.TARGETS.keySet()) {
            targets.add(internalName.replace('/', '.'));
        }
        List<Class<?>> loaded = new ArrayList<>();
        for (Class<?> c : inst.getAllLoadedClasses()) {
            if (c.getClassLoader() == null && targets.contains(c.getName())) {
                loaded.add(c);
            }
        }
        if (!loaded.isEmpty()) {
            inst.retransformClasses(loaded.toArray(new Class<?>[0]));
        }
        for (Class<?> c : loaded) {
            if (!c.getName().equals("java.lang.management.ManagementFactory")) {  // not a socket class
                return true;
            }
        }
        return false;
    }

    /**
     * With {@code log.required=true}, a log file that cannot be written is an operator's error at start. Otherwise the
     * log goes to standard error with one WARN line ({@link HardeningLog#configure}): the options protect the
     * application, the log does not, and a read-only file system in one container must not take a service down.
     * Nothing here opens what is not a regular file: a FIFO without a reader would block the JVM's start (or its
     * attach listener) for good.
     */
    private static void checkLogFile(Settings settings) throws ConfigException {
        Path file = settings.logFile();
        if (file == null || !settings.logRequired()) {
            return;
        }
        String problem = HardeningLog.logFileProblem(file);
        if (problem != null) {
            throw new ConfigException("log.file " + file + " cannot be the log (log.required=true): " + problem);
        }
        // A regular file: opening it cannot block. A FileOutputStream, not Files.newOutputStream: NIO's file channels
        // make the JDK keep a socket pair open for the rest of the JVM's life, a socket the agent would add.
        try {
            new FileOutputStream(file.toFile(), true).close();
        } catch (IOException | RuntimeException e) {  // RuntimeException: a SecurityException
            throw new ConfigException("log.file " + file + " cannot be written (log.required=true): " + e);
        }
    }
}
