package io.tcphardening.it.kit;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.function.ThrowingConsumer;

/** Turns one check into a test per JDK on the machine, named after the JDK. */
public final class PerJdk {

    private PerJdk() {
    }

    public static List<DynamicTest> tests(ThrowingConsumer<Jdks.Jdk> check) {
        if (Jdks.all().isEmpty()) {
            throw new AssertionError("no JDK 11+ found under /usr/lib/jvm: nothing to test");
        }
        return tests(Jdks.all(), check);
    }

    /**
     * For checks of java.net.Socket and ServerSocket: on every JDK, and again on each JDK that can select its legacy
     * socket implementation ({@link Jdks#legacySocketImplVariants}).
     */
    public static List<DynamicTest> socketTests(ThrowingConsumer<Jdks.Jdk> check) {
        List<Jdks.Jdk> jdks = new ArrayList<>(Jdks.all());
        jdks.addAll(Jdks.legacySocketImplVariants());
        return tests(jdks, check);
    }

    /** On the given JDKs; an empty list is a test that reports why it was skipped. */
    public static List<DynamicTest> tests(List<Jdks.Jdk> jdks, ThrowingConsumer<Jdks.Jdk> check) {
        List<DynamicTest> tests = new ArrayList<>();
        for (Jdks.Jdk jdk : jdks) {
            tests.add(DynamicTest.dynamicTest(jdk.name(), () -> check.accept(jdk)));
        }
        if (tests.isEmpty()) {
            tests.add(DynamicTest.dynamicTest("no JDK of this kind", () -> {
                System.out.println("[jdks] SKIPPED: no JDK on this machine for this test");
                Assumptions.abort("no JDK on this machine for this test");
            }));
        }
        return tests;
    }
}
