package io.tcphardening.agent;

import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

/**
 * Rewrites the few JDK classes behind every TCP socket so that they call the bridge: when a socket gets its
 * descriptor, when it is connected or accepted, and when the application sets an option. A name check rejects every
 * other class at once; the rewrite uses Byte Buddy's bundled ASM directly, because Byte Buddy's {@code AgentBuilder}
 * alone costs about half a second of start-up, paid by every JVM of a fleet.
 *
 * <p>Inserted code only loads arguments and calls a static bridge method: no branches, no new locals, no new members,
 * so existing stack map frames stay valid and already loaded classes can be retransformed.
 */
final class SocketTransformer implements ClassFileTransformer {

    private static final String SOCKET_ADDRESS = "Ljava/net/SocketAddress;";
    private static final String SELECTOR_PROVIDER = "Ljava/nio/channels/spi/SelectorProvider;";
    private static final String FAMILY = "Ljava/net/ProtocolFamily;";
    private static final String FD = "Ljava/io/FileDescriptor;";
    private static final String SET_OPTION = "(Ljava/net/SocketOption;Ljava/lang/Object;)";

    /** Every hooked method of every hooked class: the same in JDK 11 to 25. */
    static final Map<String, List<Hook>> TARGETS = Map.of(
            "sun/nio/ch/NioSocketImpl", List.of(
                    Hook.exit("create", "(Z)V", "created", 0),
                    Hook.exit("connect", "(" + SOCKET_ADDRESS + "I)V", "connected", 0),
                    Hook.exit("accept", "(Ljava/net/SocketImpl;)V", "accepted", 1),
                    Hook.option("setOption", SET_OPTION + "V"),
                    Hook.legacyOption("setOption", "(ILjava/lang/Object;)V")),
            "sun/nio/ch/SocketChannelImpl", List.of(
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + FAMILY + ")V", "created", 0),
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + FAMILY + FD + SOCKET_ADDRESS + ")V", "accepted", 0),
                    Hook.exit("endConnect", "(ZZ)V", "connected", 0),
                    Hook.exit("endFinishConnect", "(ZZ)V", "connected", 0),
                    Hook.option("setOption", SET_OPTION + "Ljava/nio/channels/SocketChannel;")),
            "sun/nio/ch/ServerSocketChannelImpl", List.of(
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + FAMILY + ")V", "created", 0),
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + FAMILY + FD + "Z)V", "created", 0),
                    Hook.option("setOption", SET_OPTION + "Ljava/nio/channels/ServerSocketChannel;")),
            "sun/nio/ch/UnixAsynchronousSocketChannelImpl", List.of(
                    Hook.exit("<init>", "(Lsun/nio/ch/Port;)V", "created", 0),
                    Hook.exit("<init>", "(Lsun/nio/ch/Port;" + FD + "Ljava/net/InetSocketAddress;)V", "accepted", 0),
                    Hook.exit("setConnected", "()V", "connected", 0)),
            "sun/nio/ch/AsynchronousSocketChannelImpl", List.of(
                    Hook.option("setOption", SET_OPTION + "Ljava/nio/channels/AsynchronousSocketChannel;")),
            "sun/nio/ch/UnixAsynchronousServerSocketChannelImpl", List.of(
                    Hook.exit("<init>", "(Lsun/nio/ch/Port;)V", "created", 0)),
            "sun/nio/ch/AsynchronousServerSocketChannelImpl", List.of(
                    Hook.option("setOption", SET_OPTION + "Ljava/nio/channels/AsynchronousServerSocketChannel;")));

    /** One inserted call: on every normal return, or at entry to replace the value an option is set to. */
    static final class Hook {
        final String method;
        final String descriptor;
        final String bridgeMethod;
        /** For exit hooks: the local holding the socket (0 = this, 1 = first argument). */
        final int socketLocal;
        final boolean atEntry;

        private Hook(String method, String descriptor, String bridgeMethod, int socketLocal, boolean atEntry) {
            this.method = method;
            this.descriptor = descriptor;
            this.bridgeMethod = bridgeMethod;
            this.socketLocal = socketLocal;
            this.atEntry = atEntry;
        }

        static Hook exit(String method, String descriptor, String bridgeMethod, int socketLocal) {
            return new Hook(method, descriptor, bridgeMethod, socketLocal, false);
        }

        static Hook option(String method, String descriptor) {
            return new Hook(method, descriptor, "option", 0, true);
        }

        static Hook legacyOption(String method, String descriptor) {
            return new Hook(method, descriptor, "legacyOption", 0, true);
        }

        @Override
        public String toString() {
            return method + descriptor;
        }
    }

    private final HardeningLog log;

    SocketTransformer(HardeningLog log) {
        this.log = log;
    }

    @Override
    public byte[] transform(ClassLoader loader, String className, Class<?> redefined, ProtectionDomain domain,
                            byte[] bytes) {
        if (loader != null || className == null) {
            return null;
        }
        List<Hook> hooks = TARGETS.get(className);
        if (hooks == null) {
            return null;
        }
        try {
            return rewrite(className, bytes, hooks);
        } catch (Throwable t) {
            log.error("cannot hook " + className.replace('/', '.') + ", its connections will not be hardened: " + t);
            return null;
        }
    }

    private byte[] rewrite(String className, byte[] bytes, List<Hook> hooks) {
        ClassReader reader = new ClassReader(bytes);
        ClassWriter writer = new ClassWriter(reader, 0);
        List<Hook> missing = new ArrayList<>(hooks);
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                                             String[] exceptions) {
                MethodVisitor visitor = super.visitMethod(access, name, descriptor, signature, exceptions);
                if ((access & Opcodes.ACC_BRIDGE) != 0) {
                    return visitor;
                }
                for (Hook hook : hooks) {
                    if (hook.method.equals(name) && hook.descriptor.equals(descriptor)) {
                        missing.remove(hook);
                        return hook.atEntry ? new OptionHook(visitor, hook) : new ExitHook(visitor, hook);
                    }
                }
                return visitor;
            }
        }, 0);
        if (!missing.isEmpty()) {
            // A JDK whose internals moved: fail loudly rather than harden nothing in silence.
            log.error(className.replace('/', '.') + " has no " + missing + " on this JDK ("
                    + System.getProperty("java.runtime.version") + "); connections through it may not be hardened");
        }
        return writer.toByteArray();
    }

    /** Before each normal return: {@code Bridge.created|connected|accepted(socket)}. */
    private static final class ExitHook extends MethodVisitor {
        private final Hook hook;

        ExitHook(MethodVisitor next, Hook hook) {
            super(Opcodes.ASM9, next);
            this.hook = hook;
        }

        @Override
        public void visitInsn(int opcode) {
            if (opcode >= Opcodes.IRETURN && opcode <= Opcodes.RETURN) {
                super.visitVarInsn(Opcodes.ALOAD, hook.socketLocal);
                super.visitMethodInsn(Opcodes.INVOKESTATIC, BridgeInjector.BRIDGE, hook.bridgeMethod,
                        "(Ljava/lang/Object;)V", false);
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(maxStack + 1, maxLocals);
        }
    }

    /** At entry: {@code value = Bridge.option(this, name, value)}, so the JDK sets the configured value instead. */
    private static final class OptionHook extends MethodVisitor {
        private final Hook hook;

        OptionHook(MethodVisitor next, Hook hook) {
            super(Opcodes.ASM9, next);
            this.hook = hook;
        }

        @Override
        public void visitCode() {
            super.visitCode();
            boolean legacy = hook.bridgeMethod.equals("legacyOption");
            super.visitVarInsn(Opcodes.ALOAD, 0);
            super.visitVarInsn(legacy ? Opcodes.ILOAD : Opcodes.ALOAD, 1);
            super.visitVarInsn(Opcodes.ALOAD, 2);
            super.visitMethodInsn(Opcodes.INVOKESTATIC, BridgeInjector.BRIDGE, hook.bridgeMethod,
                    legacy ? "(Ljava/lang/Object;ILjava/lang/Object;)Ljava/lang/Object;"
                            : "(Ljava/lang/Object;Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;", false);
            super.visitVarInsn(Opcodes.ASTORE, 2);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(Math.max(maxStack, 3), maxLocals);
        }
    }
}
