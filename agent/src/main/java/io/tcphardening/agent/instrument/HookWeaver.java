package io.tcphardening.agent.instrument;

import java.util.List;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

/**
 * Inserts the bridge calls into a Netty class that {@link SocketTransformer} matched (and into a JDK class that
 * {@link JdkClassPatcher} declines), with Byte Buddy's bundled ASM used directly: Byte Buddy's {@code AgentBuilder}
 * alone costs about half a second of start-up, paid by every JVM of a fleet. A class of its own, so that ASM is loaded
 * at the first class it rewrites: in a JVM without Netty, never.
 *
 * <p>Inserted code only loads arguments and calls a static bridge method: no branches, no new locals, no new members,
 * so existing stack map frames stay valid and already loaded classes can be retransformed.
 */
final class HookWeaver {

    private HookWeaver() {
        // no instances
    }

    /**
     * The class with its hooks inserted; {@code found} receives each hook whose method was there. Null to leave the
     * class as it is: none was there (a class named like one of Netty's that is not).
     */
    static byte[] rewrite(byte[] bytes, List<SocketTransformer.Hook> hooks, List<SocketTransformer.Hook> found) {
        ClassReader reader = new ClassReader(bytes);
        ClassWriter writer = new ClassWriter(reader, 0);
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                                             String[] exceptions) {
                MethodVisitor visitor = super.visitMethod(access, name, descriptor, signature, exceptions);
                if ((access & Opcodes.ACC_BRIDGE) != 0) {
                    return visitor;
                }
                for (SocketTransformer.Hook hook : hooks) {
                    if (hook.matches(name, descriptor)) {
                        found.add(hook);
                        return hook.replacesValue ? new OptionHook(visitor, hook)
                                : hook.atEntry ? new EntryHook(visitor, hook) : new ExitHook(visitor, hook);
                    }
                }
                return visitor;
            }
        }, 0);
        return found.isEmpty() ? null : writer.toByteArray();
    }

    /**
     * Before each normal return: {@code Bridge.created|connected|accepted(socket)}, or for a {@code RETURNED} hook
     * {@code Bridge.method(returnValue)} on a copy of the value about to be returned.
     */
    private static final class ExitHook extends MethodVisitor {
        private final SocketTransformer.Hook hook;

        ExitHook(MethodVisitor next, SocketTransformer.Hook hook) {
            super(Opcodes.ASM9, next);
            this.hook = hook;
        }

        @Override
        public void visitInsn(int opcode) {
            if (opcode >= Opcodes.IRETURN && opcode <= Opcodes.RETURN
                    && (hook.socketLocal != SocketTransformer.Hook.RETURNED || opcode == Opcodes.ARETURN)) {
                if (hook.socketLocal == SocketTransformer.Hook.RETURNED) {
                    super.visitInsn(Opcodes.DUP);
                } else {
                    super.visitVarInsn(Opcodes.ALOAD, hook.socketLocal);
                }
                if (hook.argumentLocal >= 0) {
                    super.visitVarInsn(hook.intArgument() ? Opcodes.ILOAD : Opcodes.ALOAD, hook.argumentLocal);
                }
                super.visitMethodInsn(Opcodes.INVOKESTATIC, BridgeInjector.BRIDGE, hook.bridgeMethod,
                        hook.bridgeDescriptor(), false);
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitCode() {
            super.visitCode();
            if (hook.connectingLocal >= 0) {
                super.visitVarInsn(Opcodes.ALOAD, 0);
                super.visitVarInsn(Opcodes.ALOAD, hook.connectingLocal);
                super.visitMethodInsn(Opcodes.INVOKESTATIC, BridgeInjector.BRIDGE, SocketTransformer.Hook.CONNECTING,
                        SocketTransformer.Hook.CONNECTING_DESCRIPTOR, false);
            }
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(maxStack + 2, maxLocals);
        }
    }

    /** At entry: {@code Bridge.created|connected(socket)}, or {@code Bridge.connecting(channel, destination)}. */
    private static final class EntryHook extends MethodVisitor {
        private final SocketTransformer.Hook hook;

        EntryHook(MethodVisitor next, SocketTransformer.Hook hook) {
            super(Opcodes.ASM9, next);
            this.hook = hook;
        }

        @Override
        public void visitCode() {
            super.visitCode();
            super.visitVarInsn(Opcodes.ALOAD, hook.socketLocal);
            if (hook.argumentLocal >= 0) {
                super.visitVarInsn(Opcodes.ALOAD, hook.argumentLocal);
            }
            super.visitMethodInsn(Opcodes.INVOKESTATIC, BridgeInjector.BRIDGE, hook.bridgeMethod,
                    hook.bridgeDescriptor(), false);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(Math.max(maxStack, 2), maxLocals);
        }
    }

    /** At entry: {@code value = Bridge.option(this, name, value)}, so the JDK sets the configured value instead. */
    private static final class OptionHook extends MethodVisitor {
        private final SocketTransformer.Hook hook;

        OptionHook(MethodVisitor next, SocketTransformer.Hook hook) {
            super(Opcodes.ASM9, next);
            this.hook = hook;
        }

        @Override
        public void visitCode() {
            super.visitCode();
            if (hook.optionName != null) {
                // {@code value = Bridge.intOption(this, "NAME", value)}: a boolean is an int on the stack.
                super.visitVarInsn(Opcodes.ALOAD, 0);
                super.visitLdcInsn(hook.optionName);
                super.visitVarInsn(Opcodes.ILOAD, 1);
                super.visitMethodInsn(Opcodes.INVOKESTATIC, BridgeInjector.BRIDGE, hook.bridgeMethod,
                        hook.bridgeDescriptor(), false);
                super.visitVarInsn(Opcodes.ISTORE, 1);
                return;
            }
            boolean legacy = hook.legacyOption();
            super.visitVarInsn(Opcodes.ALOAD, 0);
            super.visitVarInsn(legacy ? Opcodes.ILOAD : Opcodes.ALOAD, 1);
            super.visitVarInsn(Opcodes.ALOAD, 2);
            super.visitMethodInsn(Opcodes.INVOKESTATIC, BridgeInjector.BRIDGE, hook.bridgeMethod,
                    hook.bridgeDescriptor(), false);
            super.visitVarInsn(Opcodes.ASTORE, 2);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            super.visitMaxs(Math.max(maxStack, 3), maxLocals);
        }
    }
}
