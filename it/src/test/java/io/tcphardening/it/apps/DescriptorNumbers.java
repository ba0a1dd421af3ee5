package io.tcphardening.it.apps;

import java.io.FileDescriptor;
import java.lang.reflect.Field;
import java.net.Socket;

/**
 * The descriptor number behind a JDK socket or channel, read with reflection (the test JVMs run with
 * {@code --add-opens} for java.base's java.io, java.net and sun.nio.ch, with and without the agent alike). Only used
 * to count how often a number closed by a race was reused at once by another socket; never to assert options.
 */
final class DescriptorNumbers {

    private static final Field SOCKET_IMPL = field(Socket.class, "impl");
    /** A plain Socket's impl is a SOCKS wrapper with no descriptor of its own; the platform impl is its delegate. */
    private static final Field DELEGATE = field(classNamed("java.net.DelegatingSocketImpl"), "delegate");
    private static final Field FD_NUMBER = field(FileDescriptor.class, "fd");
    /** The field of type FileDescriptor named {@code fd} in a class or its superclasses, or null. */
    private static final ClassValue<Field> DESCRIPTOR = new ClassValue<Field>() {
        @Override
        protected Field computeValue(Class<?> type) {
            for (Class<?> c = type; c != null; c = c.getSuperclass()) {
                for (Field field : c.getDeclaredFields()) {
                    if (field.getType() == FileDescriptor.class && field.getName().equals("fd")) {
                        field.setAccessible(true);
                        return field;
                    }
                }
            }
            return null;
        }
    };

    private DescriptorNumbers() {
    }

    /** The number, or -1 if the object has no open descriptor (yet, or any more). */
    static int of(Object socket) {
        try {
            Object holder = socket instanceof Socket ? SOCKET_IMPL.get(socket) : socket;
            if (DELEGATE.getDeclaringClass().isInstance(holder)) {
                holder = DELEGATE.get(holder);
            }
            Field descriptor = holder == null ? null : DESCRIPTOR.get(holder.getClass());
            Object fd = descriptor == null ? null : descriptor.get(holder);
            return fd == null ? -1 : FD_NUMBER.getInt(fd);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Class<?> classNamed(String name) {
        try {
            return Class.forName(name);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Field field(Class<?> type, String name) {
        try {
            Field field = type.getDeclaredField(name);
            field.setAccessible(true);
            return field;
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException(e);
        }
    }
}
