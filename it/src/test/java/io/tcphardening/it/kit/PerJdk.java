package io.tcphardening.it.kit;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.function.ThrowingConsumer;

/** Turns one check into a test per JDK on the machine, named after the JDK. */
public final class PerJdk {

    private PerJdk() {
    }

    public static List<DynamicTest> tests(ThrowingConsumer<Jdks.Jdk> check) {
        List<DynamicTest> tests = new ArrayList<>();
        for (Jdks.Jdk jdk : Jdks.all()) {
            tests.add(DynamicTest.dynamicTest("JDK " + jdk.major(), () -> check.accept(jdk)));
        }
        if (tests.isEmpty()) {
            throw new AssertionError("no JDK 11+ found under /usr/lib/jvm: nothing to test");
        }
        return tests;
    }
}
