package io.tcphardening.agent.instrument;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Inserts the bridge calls into the JDK's own socket classes by editing their class files in place, without ASM.
 *
 * <p>Why not ASM here: these classes load at the application's first socket, on every JVM of a fleet, and ASM's
 * first use there (its classes loaded and run in the interpreter for the first time) cost 30-40 ms of every start.
 * This class is a few kilobytes of bytecode and touches only the few methods it hooks. It does exactly one kind of
 * edit, chosen so that nothing else in the class file has to be understood:
 * <ul>
 * <li>Every inserted sequence only loads locals and calls a static bridge method, and is padded with {@code nop} to a
 *     multiple of 4 bytes, so the padding of {@code tableswitch}/{@code lookupswitch} stays as it was and no
 *     instruction changes size.</li>
 * <li>Offsets are moved through one mapping: branches, switch tables, the exception table, stack map frames
 *     (including the offsets inside {@code Uninitialized} entries), line numbers and local variable ranges.</li>
 * <li>A branch to a return goes to the call inserted before it, a branch to the method's start goes past the call
 *     inserted at entry: exactly what {@link HookWeaver} produces with ASM, which the tests compare method by method.</li>
 * </ul>
 * Anything else (a code attribute it does not know, a branch that would no longer fit in 16 bits, a class file it
 * cannot parse) throws {@link Unsupported}, and {@link SocketTransformer} lets ASM do the job instead.
 */
public final class JdkClassPatcher {

    /** This class file is not one the patcher edits; ASM is used instead. */
    static final class Unsupported extends Exception {
        private static final long serialVersionUID = 1L;

        Unsupported(String why) {
            super(why, null, false, false);
        }
    }

    private static final int ALOAD_0 = 0x2a;
    private static final int ILOAD_0 = 0x1a;
    private static final int ILOAD_1 = 0x1b;
    private static final int ASTORE_2 = 0x4d;
    private static final int DUP = 0x59;
    private static final int NOP = 0x00;
    private static final int INVOKESTATIC = 0xb8;
    private static final int IRETURN = 0xac;
    private static final int ARETURN = 0xb0;
    private static final int RETURN = 0xb1;
    private static final int ACC_STATIC = 0x0008;
    private static final int ACC_BRIDGE = 0x0040;

    private final byte[] in;
    /** Start of each constant pool entry, by index (0 and the second slot of longs and doubles unused). */
    private int[] entries;
    private int constantPoolEnd;
    private final ByteArrayOutputStream newEntries = new ByteArrayOutputStream();
    private int nextIndex;

    private JdkClassPatcher(byte[] in) {
        this.in = in;
    }

    /**
     * The class with the calls of {@code hooks} inserted into the methods they name, of the optional hooks and groups
     * those the class declares ({@link SocketTransformer.Hook#toInsert}); {@code found} receives each hook inserted.
     * Only hooks the patcher knows: exit, entry (socket in local 0 to 3) and JDK option setters.
     */
    static byte[] patch(byte[] classFile, List<SocketTransformer.Hook> hooks, List<SocketTransformer.Hook> found)
            throws Unsupported {
        try {
            return new JdkClassPatcher(classFile).patch(hooks, found);
        } catch (RuntimeException malformed) {
            throw new Unsupported("a class file it cannot read: " + malformed);
        }
    }

    /** Name and descriptor of every method the class declares, {@code "<init>(Ljava/lang/Object;)V"} say. */
    static List<String> declaredMethods(byte[] classFile) throws Unsupported {
        try {
            JdkClassPatcher reader = new JdkClassPatcher(classFile);
            reader.readConstantPool();
            return reader.declaredMethods(reader.methodsTable());
        } catch (RuntimeException malformed) {
            throw new Unsupported("a class file it cannot read: " + malformed);
        }
    }

    /**
     * Loads the patcher's classes now, in premain. Loaded later, they would be defined while a JDK socket class is
     * being defined, in sight of every other agent's transformer: one that opens a socket there finds that socket
     * class half loaded (ClassCircularityError, which the JVM then remembers for every later socket).
     */
    public static void loadClasses() {
        new Mapping(0, new int[0], 0).target(0);
        Unsupported.class.getName();
    }

    private byte[] patch(List<SocketTransformer.Hook> hooks, List<SocketTransformer.Hook> found) throws Unsupported {
        if (u4(0) != 0xCAFEBABE) {
            throw new Unsupported("not a class file");
        }
        readConstantPool();
        int p = methodsTable();
        if (SocketTransformer.Hook.choosing(hooks)) {
            // chosen from the constant pool just read: reading the class twice cost ~0.7 ms of a cold JVM's start
            hooks = SocketTransformer.Hook.toInsert(declaredMethods(p), hooks);
        }
        int methods = u2(p);
        p += 2;
        // Each edit replaces one Code attribute: the bytes spans[i][0] to spans[i][1] of the class file become codes[i].
        List<int[]> spans = new ArrayList<>();
        List<byte[]> codes = new ArrayList<>();
        for (int m = 0; m < methods; m++) {
            int access = u2(p);
            String name = utf8(u2(p + 2));
            String descriptor = utf8(u2(p + 4));
            int attributes = u2(p + 6);
            p += 8;
            SocketTransformer.Hook hook = (access & ACC_BRIDGE) != 0 ? null : hookFor(hooks, name, descriptor);
            for (int a = 0; a < attributes; a++) {
                int length = u4(p + 2);
                if (hook != null && isUtf8(u2(p), "Code")) {
                    if ((access & ACC_STATIC) != 0 && hook.socketLocal == 0) {
                        throw new Unsupported(name + descriptor + " is static");
                    }
                    spans.add(new int[] {p, p + 6 + length});
                    codes.add(patchCode(p + 6, length, hook));
                    found.add(hook);
                }
                p += 6 + length;
            }
        }
        if (spans.isEmpty()) {
            return null;
        }
        if (nextIndex > 0xffff) {
            throw new Unsupported("no room left in the constant pool");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(in.length + 256);
        out.write(in, 0, 8);
        writeU2(out, nextIndex);
        out.write(in, 10, constantPoolEnd - 10);
        out.write(newEntries.toByteArray(), 0, newEntries.size());
        int copied = constantPoolEnd;
        for (int i = 0; i < spans.size(); i++) {
            out.write(in, copied, spans.get(i)[0] - copied);
            out.write(codes.get(i), 0, codes.get(i).length);
            copied = spans.get(i)[1];
        }
        out.write(in, copied, in.length - copied);
        return out.toByteArray();
    }

    private static SocketTransformer.Hook hookFor(List<SocketTransformer.Hook> hooks, String name, String descriptor)
            throws Unsupported {
        for (SocketTransformer.Hook hook : hooks) {
            if (hook.matches(name, descriptor)) {
                if (hook.optionName != null || hook.socketLocal > 3 || hook.argumentLocal > 3
                        || hook.connectingLocal > 3) {
                    throw new Unsupported("hook " + hook + " is not one the patcher inserts");
                }
                return hook;
            }
        }
        return null;
    }

    // ---- one method's Code attribute

    /** The Code attribute (name, length and body) with the hook's calls inserted; {@code at} is its body. */
    private byte[] patchCode(int at, int attributeLength, SocketTransformer.Hook hook) throws Unsupported {
        int maxStack = u2(at);
        int maxLocals = u2(at + 2);
        int codeLength = u4(at + 4);
        int code = at + 8;
        byte[] call = callOf(hook);
        boolean atExit = !hook.atEntry && !hook.replacesValue;
        byte[] entry = atExit ? connectingCall(hook) : call;
        byte[] exit = atExit ? call : new byte[0];

        // Where the exit calls go: before every return (for a RETURNED hook, every areturn).
        List<Integer> returns = new ArrayList<>();
        if (atExit) {
            for (int pc = 0; pc < codeLength; pc += instructionLength(code, pc)) {
                int opcode = in[code + pc] & 0xff;
                if (hook.socketLocal == SocketTransformer.Hook.RETURNED ? opcode == ARETURN
                        : opcode >= IRETURN && opcode <= RETURN) {
                    returns.add(pc);
                }
            }
        }
        int[] exits = new int[returns.size()];
        for (int i = 0; i < exits.length; i++) {
            exits[i] = returns.get(i);
        }
        Mapping map = new Mapping(entry.length, exits, exit.length);

        ByteArrayOutputStream body = new ByteArrayOutputStream(attributeLength + 64);
        writeU2(body, atExit ? maxStack + 2 : Math.max(maxStack, hook.replacesValue ? 3 : 2));
        writeU2(body, maxLocals);
        writeU4(body, codeLength + map.inserted());
        byte[] newCode = relocatedCode(code, codeLength, map, entry, exit);
        body.write(newCode, 0, newCode.length);

        int p = code + codeLength;
        int handlers = u2(p);
        writeU2(body, handlers);
        p += 2;
        for (int h = 0; h < handlers; h++, p += 8) {
            writeU2(body, map.target(u2(p)));
            writeU2(body, map.target(u2(p + 2)));
            writeU2(body, map.target(u2(p + 4)));
            writeU2(body, u2(p + 6));
        }
        int attributes = u2(p);
        writeU2(body, attributes);
        p += 2;
        for (int a = 0; a < attributes; a++) {
            int nameIndex = u2(p);
            int length = u4(p + 2);
            byte[] moved;
            if (isUtf8(nameIndex, "StackMapTable")) {
                moved = stackMapTable(p + 6, map);
            } else if (isUtf8(nameIndex, "LineNumberTable")) {
                moved = pcTable(p + 6, 4, false, map);
            } else if (isUtf8(nameIndex, "LocalVariableTable") || isUtf8(nameIndex, "LocalVariableTypeTable")) {
                moved = pcTable(p + 6, 10, true, map);
            } else {
                throw new Unsupported("code attribute " + utf8(nameIndex));
            }
            writeU2(body, nameIndex);
            writeU4(body, moved.length);
            body.write(moved, 0, moved.length);
            p += 6 + length;
        }

        ByteArrayOutputStream attribute = new ByteArrayOutputStream(body.size() + 6);
        writeU2(attribute, u2(at - 6));
        writeU4(attribute, body.size());
        attribute.write(body.toByteArray(), 0, body.size());
        return attribute.toByteArray();
    }

    /** The instructions at their new offsets, their branches re-aimed, with the calls inserted. */
    private byte[] relocatedCode(int code, int codeLength, Mapping map, byte[] entry, byte[] call)
            throws Unsupported {
        byte[] out = new byte[codeLength + map.inserted()];
        System.arraycopy(entry, 0, out, 0, entry.length);
        int exit = 0;
        for (int pc = 0; pc < codeLength; ) {
            int length = instructionLength(code, pc);
            int to = map.target(pc);
            if (exit < map.exits.length && map.exits[exit] == pc) {
                System.arraycopy(call, 0, out, to, call.length);
                to += call.length;
                exit++;
            }
            System.arraycopy(in, code + pc, out, to, length);
            int opcode = in[code + pc] & 0xff;
            if ((opcode >= 0x99 && opcode <= 0xa8) || opcode == 0xc6 || opcode == 0xc7) {
                int offset = map.target(pc + (short) u2(code + pc + 1)) - to;
                if (offset != (short) offset) {
                    throw new Unsupported("a branch no longer fits in 16 bits");
                }
                out[to + 1] = (byte) (offset >> 8);
                out[to + 2] = (byte) offset;
            } else if (opcode == 0xc8 || opcode == 0xc9) {
                putU4(out, to + 1, map.target(pc + u4(code + pc + 1)) - to);
            } else if (opcode == 0xaa || opcode == 0xab) {
                // Moved by a multiple of 4: the padding is the same, so are the positions inside the instruction.
                int table = pc + 1 + ((4 - ((pc + 1) & 3)) & 3);
                int targets;
                int step;
                int first;
                if (opcode == 0xaa) {
                    targets = u4(code + table + 8) - u4(code + table + 4) + 1;
                    first = table + 12;
                    step = 4;
                } else {
                    targets = u4(code + table + 4);
                    first = table + 12;
                    step = 8;
                }
                putU4(out, to + (table - pc), map.target(pc + u4(code + table)) - to);
                for (int t = 0; t < targets; t++) {
                    int at = first + t * step;
                    putU4(out, to + (at - pc), map.target(pc + u4(code + at)) - to);
                }
            }
            pc += length;
        }
        return out;
    }

    /**
     * A StackMapTable with each frame at its new offset. A frame kept in a one-byte form whose delta no longer fits
     * becomes its extended form; {@code Uninitialized(offset)} entries follow their {@code new} instruction.
     */
    private byte[] stackMapTable(int at, Mapping map) throws Unsupported {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int frames = u2(at);
        writeU2(out, frames);
        int p = at + 2;
        int oldOffset = -1;
        int newOffset = -1;
        for (int f = 0; f < frames; f++) {
            int type = in[p] & 0xff;
            int delta;
            int body;
            if (type < 64) {
                delta = type;
                body = p + 1;
            } else if (type < 128) {
                delta = type - 64;
                body = p + 1;
            } else if (type >= 247) {
                delta = u2(p + 1);
                body = p + 3;
            } else {
                throw new Unsupported("stack map frame type " + type);
            }
            oldOffset += delta + 1;
            int moved = map.target(oldOffset);
            int newDelta = moved - newOffset - 1;
            newOffset = moved;
            if (type < 64) {
                if (newDelta < 64) {
                    out.write(newDelta);
                } else {
                    out.write(251);
                    writeU2(out, newDelta);
                }
                p = body;
            } else if (type < 128) {
                if (newDelta < 64) {
                    out.write(64 + newDelta);
                } else {
                    out.write(247);
                    writeU2(out, newDelta);
                }
                p = copyTypes(body, 1, out, map);
            } else {
                out.write(type);
                writeU2(out, newDelta);
                if (type == 247) {
                    p = copyTypes(body, 1, out, map);
                } else if (type <= 251) {
                    p = body;                                 // chop or same_frame_extended
                } else if (type <= 254) {
                    p = copyTypes(body, type - 251, out, map); // append
                } else {
                    int locals = u2(body);
                    writeU2(out, locals);
                    p = copyTypes(body + 2, locals, out, map);
                    int stack = u2(p);
                    writeU2(out, stack);
                    p = copyTypes(p + 2, stack, out, map);
                }
            }
        }
        return out.toByteArray();
    }

    private int copyTypes(int p, int count, ByteArrayOutputStream out, Mapping map) {
        for (int i = 0; i < count; i++) {
            int tag = in[p] & 0xff;
            out.write(tag);
            if (tag == 7) {                 // Object: a constant pool index
                writeU2(out, u2(p + 1));
                p += 3;
            } else if (tag == 8) {          // Uninitialized: the offset of its 'new'
                writeU2(out, map.target(u2(p + 1)));
                p += 3;
            } else {
                p += 1;
            }
        }
        return p;
    }

    /** LineNumberTable (start_pc first, 4 bytes each) or a local variable table (start_pc, length, 10 bytes each). */
    private byte[] pcTable(int at, int entrySize, boolean ranges, Mapping map) {
        int count = u2(at);
        byte[] out = Arrays.copyOfRange(in, at, at + 2 + count * entrySize);
        for (int i = 0; i < count; i++) {
            int e = 2 + i * entrySize;
            int start = u2(at + e);
            int moved = map.target(start);
            putU2(out, e, moved);
            if (ranges) {
                putU2(out, e + 2, map.target(start + u2(at + e + 2)) - moved);
            }
        }
        return out;
    }

    /**
     * Old offsets to new: everything moves past the entry call, and past each exit call inserted before an earlier
     * return. A return's own offset maps to its exit call, so that a branch to the return runs the call first.
     */
    private static final class Mapping {
        final int entrySize;
        final int[] exits;
        final int exitSize;

        Mapping(int entrySize, int[] exits, int exitSize) {
            this.entrySize = entrySize;
            this.exits = exits;
            this.exitSize = exitSize;
        }

        int target(int pc) {
            int before = 0;
            while (before < exits.length && exits[before] < pc) {
                before++;
            }
            return pc + entrySize + before * exitSize;
        }

        int inserted() {
            return entrySize + exits.length * exitSize;
        }
    }

    /** The inserted instructions, padded with {@code nop} to a multiple of 4 bytes. */
    private byte[] callOf(SocketTransformer.Hook hook) {
        ByteArrayOutputStream call = new ByteArrayOutputStream(8);
        if (hook.replacesValue) {
            call.write(ALOAD_0);
            call.write(hook.legacyOption() ? ILOAD_1 : ALOAD_0 + 1);
            call.write(ALOAD_0 + 2);
        } else {
            call.write(hook.socketLocal == SocketTransformer.Hook.RETURNED ? DUP : ALOAD_0 + hook.socketLocal);
            if (hook.argumentLocal >= 0) {
                call.write((hook.intArgument() ? ILOAD_0 : ALOAD_0) + hook.argumentLocal);
            }
        }
        call.write(INVOKESTATIC);
        writeU2(call, bridgeMethod(hook.bridgeMethod, hook.bridgeDescriptor()));
        if (hook.replacesValue) {
            call.write(ASTORE_2);
        }
        while (call.size() % 4 != 0) {
            call.write(NOP);
        }
        return call.toByteArray();
    }

    /** For an exit hook that also reports the destination: {@code connecting(this, local)} at entry; else nothing. */
    private byte[] connectingCall(SocketTransformer.Hook hook) {
        if (hook.connectingLocal < 0) {
            return new byte[0];
        }
        ByteArrayOutputStream call = new ByteArrayOutputStream(8);
        call.write(ALOAD_0);
        call.write(ALOAD_0 + hook.connectingLocal);
        call.write(INVOKESTATIC);
        writeU2(call, bridgeMethod(SocketTransformer.Hook.CONNECTING, SocketTransformer.Hook.CONNECTING_DESCRIPTOR));
        while (call.size() % 4 != 0) {
            call.write(NOP);
        }
        return call.toByteArray();
    }

    // ---- the constant pool

    private void readConstantPool() throws Unsupported {
        int count = u2(8);
        entries = new int[count];
        int p = 10;
        for (int i = 1; i < count; i++) {
            entries[i] = p;
            int tag = in[p] & 0xff;
            switch (tag) {
                case 1: p += 3 + u2(p + 1); break;                          // Utf8
                case 7: case 8: case 16: case 19: case 20: p += 3; break;   // Class String MethodType Module Package
                case 15: p += 4; break;                                     // MethodHandle
                case 3: case 4: case 9: case 10: case 11: case 12: case 17: case 18: p += 5; break;
                case 5: case 6: p += 9; i++; break;                         // Long Double: two slots
                default: throw new Unsupported("constant pool tag " + tag);
            }
        }
        constantPoolEnd = p;
        nextIndex = count;
    }

    /** A Methodref to the bridge, added to the constant pool (once per method name and descriptor). */
    private final List<String> added = new ArrayList<>();
    private final List<Integer> addedIndex = new ArrayList<>();
    private int bridgeClass;

    private int bridgeMethod(String name, String descriptor) {
        String key = name + descriptor;
        int known = added.indexOf(key);
        if (known >= 0) {
            return addedIndex.get(known);
        }
        if (bridgeClass == 0) {
            bridgeClass = addEntry(7, addUtf8(BridgeInjector.BRIDGE));
        }
        int nameAndType = addEntry(12, addUtf8(name), addUtf8(descriptor));
        int methodref = addEntry(10, bridgeClass, nameAndType);
        added.add(key);
        addedIndex.add(methodref);
        return methodref;
    }

    private int addUtf8(String ascii) {
        newEntries.write(1);
        writeU2(newEntries, ascii.length());
        for (int i = 0; i < ascii.length(); i++) {
            newEntries.write(ascii.charAt(i));
        }
        return nextIndex++;
    }

    private int addEntry(int tag, int... indexes) {
        newEntries.write(tag);
        for (int index : indexes) {
            writeU2(newEntries, index);
        }
        return nextIndex++;
    }

    private boolean isUtf8(int index, String ascii) {
        int p = entries[index];
        if (in[p] != 1 || u2(p + 1) != ascii.length()) {
            return false;
        }
        for (int i = 0; i < ascii.length(); i++) {
            if (in[p + 3 + i] != ascii.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** A name or descriptor; those of the hooked methods are ASCII, any other byte just fails to match. */
    private String utf8(int index) {
        int p = entries[index];
        char[] chars = new char[u2(p + 1)];
        for (int i = 0; i < chars.length; i++) {
            chars[i] = (char) (in[p + 3 + i] & 0xff);
        }
        return new String(chars);
    }

    /** Where the methods table starts: past the access flags, this and super class, interfaces and fields. */
    private int methodsTable() {
        int p = constantPoolEnd + 6;
        p += 2 + 2 * u2(p);
        return skipMembers(p);
    }

    private List<String> declaredMethods(int methodsTable) {
        int methods = u2(methodsTable);
        int p = methodsTable + 2;
        List<String> declared = new ArrayList<>(methods);
        for (int m = 0; m < methods; m++) {
            declared.add(utf8(u2(p + 2)) + utf8(u2(p + 4)));
            p = skipMember(p);
        }
        return declared;
    }

    private int skipMembers(int p) {
        int count = u2(p);
        p += 2;
        for (int i = 0; i < count; i++) {
            p = skipMember(p);
        }
        return p;
    }

    /** Past one field_info or method_info. */
    private int skipMember(int p) {
        int attributes = u2(p + 6);
        p += 8;
        for (int a = 0; a < attributes; a++) {
            p += 6 + u4(p + 2);
        }
        return p;
    }

    // ---- instructions

    private int instructionLength(int code, int pc) throws Unsupported {
        int opcode = in[code + pc] & 0xff;
        if (opcode == 0xaa || opcode == 0xab) {
            int table = pc + 1 + ((4 - ((pc + 1) & 3)) & 3);
            return opcode == 0xaa ? table - pc + 12 + 4 * (u4(code + table + 8) - u4(code + table + 4) + 1)
                    : table - pc + 8 + 8 * u4(code + table + 4);
        }
        if (opcode == 0xc4) {                                        // wide
            return (in[code + pc + 1] & 0xff) == 0x84 ? 6 : 4;
        }
        int length = opcode < LENGTHS.length() ? LENGTHS.charAt(opcode) - '0' : 0;
        if (length == 0) {
            throw new Unsupported("opcode " + opcode);
        }
        return length;
    }

    /** Length of each fixed-size opcode, 0x00 to 0xc9, as a digit ('0': variable or not an opcode). */
    private static final String LENGTHS =
            "1111111111111111232332222211111111111111111111111111112222211111"      // 0x00-0x3f
            + "1111111111111111111111111111111111111111111111111111111111111111"    // 0x40-0x7f
            + "1111311111111111111111111333333333333333320011111133333335532311"    // 0x80-0xbf
            + "3311043355";                                                         // 0xc0-0xc9

    // ---- bytes

    private int u2(int p) {
        return ((in[p] & 0xff) << 8) | (in[p + 1] & 0xff);
    }

    private int u4(int p) {
        return ((in[p] & 0xff) << 24) | ((in[p + 1] & 0xff) << 16) | ((in[p + 2] & 0xff) << 8) | (in[p + 3] & 0xff);
    }

    private static void putU2(byte[] out, int p, int value) {
        out[p] = (byte) (value >> 8);
        out[p + 1] = (byte) value;
    }

    private static void putU4(byte[] out, int p, int value) {
        out[p] = (byte) (value >> 24);
        out[p + 1] = (byte) (value >> 16);
        out[p + 2] = (byte) (value >> 8);
        out[p + 3] = (byte) value;
    }

    private static void writeU2(ByteArrayOutputStream out, int value) {
        out.write(value >> 8);
        out.write(value);
    }

    private static void writeU4(ByteArrayOutputStream out, int value) {
        out.write(value >> 24);
        out.write(value >> 16);
        out.write(value >> 8);
        out.write(value);
    }
}
