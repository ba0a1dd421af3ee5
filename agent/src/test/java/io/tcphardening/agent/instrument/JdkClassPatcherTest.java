package io.tcphardening.agent.instrument;

import java.io.IOException;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.Handle;
import net.bytebuddy.jar.asm.Label;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The patcher against ASM, method by method: for the agent's own targets and for every class of the running JDK's
 * {@code java.base} with a hook on every method, the code the patcher writes must be, read back by ASM, the code
 * {@link HookWeaver} writes with ASM: the same instructions (the patcher's {@code nop} padding aside), branches to the
 * same instructions, the same frames, handlers, line numbers, local variable ranges and maximum stack.
 */
class JdkClassPatcherTest {

    /** The running JDK's image and those of the other JDKs under /usr/lib/jvm: each has its own class files. */
    @TestFactory
    List<DynamicTest> perJdk() throws IOException {
        List<Path> homes = new ArrayList<>();
        homes.add(Paths.get(System.getProperty("java.home")));
        Path installed = Paths.get("/usr/lib/jvm");
        if (Files.isDirectory(installed)) {
            try (Stream<Path> jvms = Files.list(installed)) {
                jvms.filter(home -> Files.isRegularFile(home.resolve("lib/modules")) && !Files.isSymbolicLink(home))
                        .sorted().forEach(homes::add);
            }
        }
        List<DynamicTest> tests = new ArrayList<>();
        List<Path> seen = new ArrayList<>();
        for (Path home : homes) {
            Path real = home.toRealPath();
            if (seen.contains(real)) {
                continue;
            }
            seen.add(real);
            tests.add(DynamicTest.dynamicTest("targets of the agent, " + real, () -> {
                try (FileSystem jrt = image(real)) {
                    theAgentsTargetsArePatchedAsAsmWouldAndEveryHookIsFound(jrt);
                }
            }));
            tests.add(DynamicTest.dynamicTest("every method of java.base, " + real, () -> {
                try (FileSystem jrt = image(real)) {
                    everyMethodOfJavaBaseWithEachKindOfHook(jrt, real);
                }
            }));
        }
        return tests;
    }

    private static FileSystem image(Path home) throws IOException {
        return FileSystems.newFileSystem(URI.create("jrt:/"), Map.of("java.home", home.toString()));
    }

    private static void theAgentsTargetsArePatchedAsAsmWouldAndEveryHookIsFound(FileSystem jrt) throws Exception {
        boolean legacy = Files.exists(jrt.getPath("modules", "java.base", "java/net/AbstractPlainSocketImpl.class"));
        int patchedClasses = 0;
        for (Map.Entry<String, List<SocketTransformer.Hook>> target : SocketTransformer.TARGETS.entrySet()) {
            String module = target.getKey().startsWith("java/lang/management") ? "java.management" : "java.base";
            Path file = jrt.getPath("modules", module, target.getKey() + ".class");
            if (!legacy && target.getKey().startsWith("java/net/")) {
                assertFalse(Files.exists(file), target.getKey() + " without the legacy implementation");
                continue;  // JDK 18 on: no legacy socket implementation
            }
            byte[] original = Files.readAllBytes(file);
            // the patcher makes the hooks' choices itself, as it reads the class: the same as from its methods table
            List<SocketTransformer.Hook> hooks = SocketTransformer.Hook.toInsert(
                    JdkClassPatcher.declaredMethods(original), target.getValue());
            List<SocketTransformer.Hook> found = new ArrayList<>();
            byte[] patched = patchOrFail(original, target.getValue(), found);
            assertEquals(hooks.size(), found.size(), target.getKey() + " found " + found);
            assertTrue(found.containsAll(hooks), target.getKey() + ": every hook inserted, found " + found);
            assertEquals(List.of(), SocketTransformer.Hook.missing(target.getValue(), found), target.getKey());
            if (hooks.isEmpty()) {
                assertNull(patched, target.getKey());  // an optional hook whose method is in the superclass here
                continue;
            }
            assertNotNull(patched, target.getKey());
            assertSameCode(target.getKey(), original, patched, hooks);
            patchedClasses++;
        }
        assertTrue(patchedClasses >= 8, "classes patched: " + patchedClasses);
    }

    private static void everyMethodOfJavaBaseWithEachKindOfHook(FileSystem jrt, Path home) throws IOException {
        Path base = jrt.getPath("modules", "java.base");
        List<Path> classes;
        try (Stream<Path> files = Files.walk(base)) {
            classes = files.filter(p -> p.toString().endsWith(".class") && !p.endsWith("module-info.class"))
                    .sorted().collect(Collectors.toList());
        }
        int methods = 0;
        Map<String, Integer> declined = new TreeMap<>();
        for (Path file : classes) {
            byte[] original = Files.readAllBytes(file);
            List<SocketTransformer.Hook> hooks = hooksForEveryMethod(original);
            if (hooks.isEmpty()) {
                continue;
            }
            List<SocketTransformer.Hook> found = new ArrayList<>();
            byte[] patched;
            try {
                patched = JdkClassPatcher.patch(original, hooks, found);
            } catch (JdkClassPatcher.Unsupported e) {
                declined.merge(e.getMessage().replaceAll("\\d+", "N"), 1, Integer::sum);
                continue;
            }
            assertEquals(hooks.size(), found.size(), file.toString());
            assertSameCode(file.toString(), original, patched, hooks);
            methods += hooks.size();
        }
        System.out.println("[patcher] " + home + ": " + methods + " methods of " + classes.size()
                + " java.base classes patched as ASM would; declined (ASM does those): " + declined);
        assertTrue(methods > 20_000, "too few methods compared: " + methods);
        int declinedClasses = declined.values().stream().mapToInt(Integer::intValue).sum();
        assertTrue(declinedClasses < classes.size() / 100, "declined too often: " + declined);
    }

    /**
     * Exit, entry, returned-value, both option hooks, the connecting pair and an exit hook with an int argument in
     * turn. The comparison with ASM is of the code's structure: a local need not hold the type the bridge takes.
     */
    private static List<SocketTransformer.Hook> hooksForEveryMethod(byte[] bytes) {
        List<SocketTransformer.Hook> hooks = new ArrayList<>();
        new ClassReader(bytes).accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                                             String[] exceptions) {
                if ((access & (Opcodes.ACC_ABSTRACT | Opcodes.ACC_NATIVE | Opcodes.ACC_BRIDGE)) != 0) {
                    return null;
                }
                boolean isStatic = (access & Opcodes.ACC_STATIC) != 0;
                switch (hooks.size() % 7) {
                    case 0:
                        hooks.add(SocketTransformer.Hook.exit(name, descriptor, "created", isStatic ? 1 : 0));
                        break;
                    case 1:
                        hooks.add(SocketTransformer.Hook.entry(name, descriptor, "connected", isStatic ? 2 : 0));
                        break;
                    case 2:
                        hooks.add(SocketTransformer.Hook.returned(name, descriptor, "platformMBeanServer"));
                        break;
                    case 3:
                        hooks.add(isStatic ? SocketTransformer.Hook.exit(name, descriptor, "accepted", 3)
                                : SocketTransformer.Hook.option(name, descriptor));
                        break;
                    case 4:
                        hooks.add(isStatic ? SocketTransformer.Hook.entry(name, descriptor, "created", 1)
                                : SocketTransformer.Hook.legacyOption(name, descriptor));
                        break;
                    case 5:
                        // an exit hook that also passes a destination at entry, and an entry hook with two locals
                        hooks.add(isStatic ? SocketTransformer.Hook.entry(name, descriptor, "connecting", 1).withArgument(2)
                                : SocketTransformer.Hook.exit(name, descriptor, "connected", 0).connecting(0));
                        break;
                    default:
                        // an exit hook passing an int local (the legacy option's id) beside the socket
                        hooks.add(SocketTransformer.Hook.exit(name, descriptor, "legacyOptionWritten", isStatic ? 1 : 0)
                                .withArgument(2));
                }
                return null;
            }
        }, ClassReader.SKIP_CODE);
        return hooks;
    }

    private static byte[] patchOrFail(byte[] original, List<SocketTransformer.Hook> hooks,
                                      List<SocketTransformer.Hook> found) {
        try {
            return JdkClassPatcher.patch(original, hooks, found);
        } catch (JdkClassPatcher.Unsupported e) {
            throw new AssertionError("the patcher declined a target of the agent: " + e.getMessage(), e);
        }
    }

    private static void assertSameCode(String name, byte[] original, byte[] patched,
                                       List<SocketTransformer.Hook> hooks) {
        byte[] withAsm = HookWeaver.rewrite(original, hooks, new ArrayList<>());
        Map<String, String> expected = listing(withAsm);
        Map<String, String> actual = listing(patched);
        assertEquals(expected.keySet(), actual.keySet(), name);
        for (String method : expected.keySet()) {
            assertEquals(expected.get(method), actual.get(method), name + " " + method);
        }
    }

    /** Each method's code as ASM reads it, labels as the index of the instruction they stand before, nop left out. */
    private static Map<String, String> listing(byte[] bytes) {
        Map<String, String> methods = new TreeMap<>();
        new ClassReader(bytes).accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                                             String[] exceptions) {
                return new Listing(listing -> methods.put(name + descriptor, listing));
            }
        }, ClassReader.EXPAND_FRAMES);
        return methods;
    }

    private static final class Listing extends MethodVisitor {
        private final java.util.function.Consumer<String> done;
        private final List<Object[]> events = new ArrayList<>();
        private final Map<Label, Integer> positions = new IdentityHashMap<>();
        private int instructions;

        Listing(java.util.function.Consumer<String> done) {
            super(Opcodes.ASM9);
            this.done = done;
        }

        private void instruction(Object... event) {
            events.add(event);
            instructions++;
        }

        private void other(Object... event) {
            events.add(event);
        }

        @Override
        public void visitLabel(Label label) {
            positions.put(label, instructions);
        }

        @Override
        public void visitInsn(int opcode) {
            if (opcode != Opcodes.NOP) {
                instruction("insn", opcode);
            }
        }

        @Override
        public void visitIntInsn(int opcode, int operand) {
            instruction("int", opcode, operand);
        }

        @Override
        public void visitVarInsn(int opcode, int var) {
            instruction("var", opcode, var);
        }

        @Override
        public void visitTypeInsn(int opcode, String type) {
            instruction("type", opcode, type);
        }

        @Override
        public void visitFieldInsn(int opcode, String owner, String name, String descriptor) {
            instruction("field", opcode, owner, name, descriptor);
        }

        @Override
        public void visitMethodInsn(int opcode, String owner, String name, String descriptor, boolean isInterface) {
            instruction("method", opcode, owner, name, descriptor, isInterface);
        }

        @Override
        public void visitInvokeDynamicInsn(String name, String descriptor, Handle bootstrap, Object... arguments) {
            instruction("indy", name, descriptor, bootstrap, Arrays.deepToString(arguments));
        }

        @Override
        public void visitJumpInsn(int opcode, Label label) {
            instruction("jump", opcode, label);
        }

        @Override
        public void visitLdcInsn(Object value) {
            instruction("ldc", String.valueOf(value));
        }

        @Override
        public void visitIincInsn(int var, int increment) {
            instruction("iinc", var, increment);
        }

        @Override
        public void visitTableSwitchInsn(int min, int max, Label dflt, Label... labels) {
            List<Object> event = new ArrayList<>(Arrays.asList("table", min, max, dflt));
            event.addAll(Arrays.asList(labels));
            instruction(event.toArray());
        }

        @Override
        public void visitLookupSwitchInsn(Label dflt, int[] keys, Label[] labels) {
            List<Object> event = new ArrayList<>(Arrays.asList("lookup", dflt, Arrays.toString(keys)));
            event.addAll(Arrays.asList(labels));
            instruction(event.toArray());
        }

        @Override
        public void visitMultiANewArrayInsn(String descriptor, int dimensions) {
            instruction("multi", descriptor, dimensions);
        }

        @Override
        public void visitFrame(int type, int localCount, Object[] local, int stackCount, Object[] stack) {
            List<Object> event = new ArrayList<>(Arrays.asList("frame@", instructions, type, localCount));
            event.addAll(Arrays.asList(local).subList(0, localCount));
            event.add(stackCount);
            event.addAll(Arrays.asList(stack).subList(0, stackCount));
            other(event.toArray());
        }

        @Override
        public void visitTryCatchBlock(Label start, Label end, Label handler, String type) {
            other("try", start, end, handler, type);
        }

        @Override
        public void visitLocalVariable(String name, String descriptor, String signature, Label start, Label end,
                                       int index) {
            other("local", name, descriptor, signature, start, end, index);
        }

        @Override
        public void visitLineNumber(int line, Label start) {
            other("line", line, start);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            other("maxs", maxStack, maxLocals);
        }

        @Override
        public void visitEnd() {
            StringBuilder text = new StringBuilder();
            for (Object[] event : events) {
                for (Object part : event) {
                    text.append(part instanceof Label ? "L" + positions.get(part) : String.valueOf(part)).append(' ');
                }
                text.append('\n');
            }
            done.accept(text.toString());
        }
    }
}
