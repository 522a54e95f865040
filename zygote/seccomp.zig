//! The zygote's seccomp filter: an allowlist of seven syscalls, all but two with argument checks.
//! Non-x86-64 architectures, x32 syscall numbers and everything not listed kill the process.
//! Arguments are 64-bit: both halves are checked wherever the kernel reads the whole value.
//!
//!   futex        FUTEX_WAIT or FUTEX_WAKE (shared) on the VmCtx state word only
//!   mmap         MAP_SHARED|MAP_FIXED exactly (so no MAP_ANONYMOUS, MAP_PRIVATE, MAP_HUGETLB,
//!                MAP_POPULATE, MAP_GROWSDOWN) and one of:
//!                - guest memory fd, no PROT_EXEC, inside guest memory, file offset = address
//!                - image fd, PROT_READ, inside guest memory, file offset = address
//!                - code fd, PROT_READ|PROT_EXEC at CODE_ADDR, offset 0, at most CODE_MAX bytes
//!                - code fd, PROT_READ at JUMP_TABLE_ADDR, offset JUMP_TABLE_OFFSET, at most
//!                  JUMP_TABLE_MAX bytes
//!   mprotect     no PROT_EXEC, inside guest memory
//!   madvise      MADV_DONTNEED of exactly the zygote stack below its top STACK_HOT_SIZE bytes,
//!                or MADV_POPULATE_READ / MADV_POPULATE_WRITE inside guest memory
//!   munmap, sched_yield, exit_group   always
//!
//! rt_sigreturn is not allowed: the fault handler leaves by jumping to the exit path.

const std = @import("std");
const linux = std.os.linux;
const BPF = linux.BPF;
const abi = @import("abi.zig");
const sys = @import("sys.zig");

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const BPF_TAX: u16 = 0x00;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const PROT_RX: u32 = linux.PROT.READ | linux.PROT.EXEC;
const PROT_READ: u32 = linux.PROT.READ;
const NOT_READ_WRITE: u32 = ~@as(u32, linux.PROT.READ | linux.PROT.WRITE);
const MAP_SHARED_FIXED: u64 = linux.MAP.SHARED | linux.MAP.FIXED;

fn argLo(comptime n: u32) u32 {
    return 16 + 8 * n;
}
fn argHi(comptime n: u32) u32 {
    return 16 + 8 * n + 4;
}
fn nr(comptime s: linux.SYS) u32 {
    return @intCast(@intFromEnum(s));
}
fn lo(comptime v: u64) u32 {
    return @truncate(v);
}
fn hi(comptime v: u64) u32 {
    return @truncate(v >> 32);
}

/// A filter instruction with symbolic jump targets, resolved at compile time. Loads go into A;
/// `tax` copies A to X; `neg` and `add` work on A; `jeq_x` and `jgt_x` compare A with X.
const Ins = union(enum) {
    label: []const u8,
    load: u32,
    ret: u32,
    tax: void,
    neg: void,
    add: u32,
    jeq: Jump,
    jgt: Jump,
    jge: Jump,
    jset: Jump,
    jeq_x: Jump,
    jgt_x: Jump,
};
const Jump = struct { k: u32 = 0, yes: []const u8, no: []const u8 };

fn jeq(k: u32, yes: []const u8, no: []const u8) Ins {
    return .{ .jeq = .{ .k = k, .yes = yes, .no = no } };
}
fn jgt(k: u32, yes: []const u8, no: []const u8) Ins {
    return .{ .jgt = .{ .k = k, .yes = yes, .no = no } };
}
fn jge(k: u32, yes: []const u8, no: []const u8) Ins {
    return .{ .jge = .{ .k = k, .yes = yes, .no = no } };
}
fn jset(k: u32, yes: []const u8, no: []const u8) Ins {
    return .{ .jset = .{ .k = k, .yes = yes, .no = no } };
}
fn at(name: []const u8) Ins {
    return .{ .label = name };
}

/// Argument `n` equals the 64-bit `value`: continue with `yes`, else go to `no` (a label: "next"
/// would land inside the comparison).
fn arg64(comptime n: u32, comptime value: u64, comptime yes: []const u8, comptime no: []const u8) [4]Ins {
    if (comptime std.mem.eql(u8, no, "next")) @compileError("arg64 needs a label to go to when unequal");
    return .{ .{ .load = argHi(n) }, jeq(hi(value), "next", no), .{ .load = argLo(n) }, jeq(lo(value), yes, no) };
}

/// Argument `n` is at most `max` (both halves): continue with `yes`, else go to `no` (a label).
fn argAtMost(comptime n: u32, comptime max: u32, comptime yes: []const u8, comptime no: []const u8) [4]Ins {
    if (comptime std.mem.eql(u8, no, "next")) @compileError("argAtMost needs a label to go to when too large");
    return .{ .{ .load = argHi(n) }, jeq(0, "next", no), .{ .load = argLo(n) }, jgt(max, no, yes) };
}

/// "next" as a jump target means the following instruction.
const source = [_]Ins{
    .{ .load = OFF_ARCH },
    jeq(AUDIT_ARCH_X86_64, "next", "kill"),
    .{ .load = OFF_NR },
    jset(X32_SYSCALL_BIT, "kill", "next"),
    jeq(nr(.futex), "futex", "next"),
    jeq(nr(.mmap), "mmap", "next"),
    jeq(nr(.mprotect), "mprotect", "next"),
    jeq(nr(.madvise), "madvise", "next"),
    jeq(nr(.munmap), "allow", "next"),
    jeq(nr(.sched_yield), "allow", "next"),
    jeq(nr(.exit_group), "allow", "kill"),

    at("futex"),
} ++ arg64(0, abi.VMCTX_ADDR + @offsetOf(abi.VmCtx, "state"), "next", "kill") ++ [_]Ins{
    .{ .load = argLo(1) },
    jeq(linux.FUTEX.WAIT, "allow", "next"),
    jeq(linux.FUTEX.WAKE, "allow", "kill"),

    at("madvise"),
    .{ .load = argHi(2) },
    jeq(0, "next", "kill"),
    .{ .load = argLo(2) },
    jeq(sys.MADV_POPULATE_READ, "madvise_guest", "next"),
    jeq(sys.MADV_POPULATE_WRITE, "madvise_guest", "next"),
    jeq(sys.MADV_DONTNEED, "next", "kill"),
} ++ arg64(0, abi.STACK_ADDR, "next", "kill") ++
    arg64(1, abi.STACK_SIZE - abi.STACK_HOT_SIZE, "allow", "kill") ++ [_]Ins{
    at("mmap"),
} ++ arg64(3, MAP_SHARED_FIXED, "next", "kill") ++ [_]Ins{
    .{ .load = argHi(2) },
    jeq(0, "next", "kill"),
    .{ .load = argLo(4) },
    jeq(@intCast(abi.FD_MEMORY), "mmap_memory", "next"),
    jeq(@intCast(abi.FD_IMAGE), "mmap_image", "next"),
    jeq(@intCast(abi.FD_CODE), "mmap_code", "kill"),

    at("mmap_code"),
} ++ arg64(0, abi.CODE_ADDR, "code_slot", "mmap_table") ++ [_]Ins{at("mmap_table")} ++
    arg64(0, abi.JUMP_TABLE_ADDR, "table_slot", "kill") ++ [_]Ins{
    at("code_slot"),
    .{ .load = argLo(2) },
    jeq(PROT_RX, "next", "kill"),
} ++ arg64(5, 0, "next", "kill") ++ argAtMost(1, abi.CODE_MAX, "allow", "kill") ++ [_]Ins{
    at("table_slot"),
    .{ .load = argLo(2) },
    jeq(PROT_READ, "next", "kill"),
} ++ arg64(5, abi.JUMP_TABLE_OFFSET, "next", "kill") ++
    argAtMost(1, abi.JUMP_TABLE_MAX, "allow", "kill") ++ [_]Ins{
    at("mmap_memory"),
    .{ .load = argLo(2) },
    jset(NOT_READ_WRITE, "kill", "mmap_guest"),
    at("mmap_image"),
    .{ .load = argLo(2) },
    jeq(PROT_READ, "mmap_guest", "kill"),

    // Guest memory and images: file offset = address (no aliases), then the range check.
    at("mmap_guest"),
    .{ .load = argHi(5) },
    jeq(0, "next", "kill"),
    .{ .load = argHi(0) },
    jeq(0, "next", "kill"),
    .{ .load = argLo(0) },
    .{ .tax = {} },
    .{ .load = argLo(5) },
    .{ .jeq_x = .{ .yes = "guest_range", .no = "kill" } },

    at("madvise_guest"),
    .{ .load = argHi(0) },
    jeq(0, "guest_range", "kill"),

    at("mprotect"),
    .{ .load = argHi(2) },
    jeq(0, "next", "kill"),
    .{ .load = argLo(2) },
    jset(NOT_READ_WRITE, "kill", "next"),
    .{ .load = argHi(0) },
    jeq(0, "next", "kill"),

    // GUEST_START <= address and address + length <= GUEST_END (address < 2^32 checked above):
    // X = GUEST_END - length, computed only once length <= GUEST_END.
    at("guest_range"),
} ++ argAtMost(1, lo(abi.GUEST_END), "next", "kill") ++ [_]Ins{
    .{ .neg = {} },
    .{ .add = lo(abi.GUEST_END) },
    .{ .tax = {} },
    .{ .load = argLo(0) },
    .{ .jgt_x = .{ .yes = "kill", .no = "next" } },
    jge(lo(abi.GUEST_START), "allow", "kill"),

    at("allow"),
    .{ .ret = RET_ALLOW },
    at("kill"),
    .{ .ret = RET_KILL_PROCESS },
};

fn countInstructions() usize {
    var n: usize = 0;
    for (source) |ins| {
        if (ins != .label) n += 1;
    }
    return n;
}

fn positionOf(comptime name: []const u8) usize {
    var pos: usize = 0;
    for (source) |ins| {
        if (ins == .label) {
            if (std.mem.eql(u8, ins.label, name)) return pos;
        } else pos += 1;
    }
    @compileError("unknown label " ++ name);
}

fn offset(comptime from: usize, comptime target: []const u8) u8 {
    if (std.mem.eql(u8, target, "next")) return 0;
    const to = positionOf(target);
    if (to <= from) @compileError("backward jump to " ++ target);
    return @intCast(to - from - 1);
}

fn jump(comptime code: u16, comptime pos: usize, comptime j: Jump) sys.SockFilter {
    return .{ .code = BPF.JMP | code, .jt = offset(pos, j.yes), .jf = offset(pos, j.no), .k = j.k };
}

/// The assembled filter.
pub const program: [countInstructions()]sys.SockFilter = blk: {
    @setEvalBranchQuota(100_000);
    var out: [countInstructions()]sys.SockFilter = undefined;
    var pos: usize = 0;
    for (source) |ins| {
        switch (ins) {
            .label => continue,
            .load => |k| out[pos] = .{ .code = BPF.LD | BPF.W | BPF.ABS, .jt = 0, .jf = 0, .k = k },
            .ret => |k| out[pos] = .{ .code = BPF.RET | BPF.K, .jt = 0, .jf = 0, .k = k },
            .tax => out[pos] = .{ .code = BPF.MISC | BPF_TAX, .jt = 0, .jf = 0, .k = 0 },
            .neg => out[pos] = .{ .code = BPF.ALU | BPF.NEG, .jt = 0, .jf = 0, .k = 0 },
            .add => |k| out[pos] = .{ .code = BPF.ALU | BPF.ADD | BPF.K, .jt = 0, .jf = 0, .k = k },
            .jeq => |j| out[pos] = jump(BPF.JEQ | BPF.K, pos, j),
            .jgt => |j| out[pos] = jump(BPF.JGT | BPF.K, pos, j),
            .jge => |j| out[pos] = jump(BPF.JGE | BPF.K, pos, j),
            .jset => |j| out[pos] = jump(BPF.JSET | BPF.K, pos, j),
            .jeq_x => |j| out[pos] = jump(BPF.JEQ | BPF.X, pos, j),
            .jgt_x => |j| out[pos] = jump(BPF.JGT | BPF.X, pos, j),
        }
        pos += 1;
    }
    break :blk out;
};

/// Installs the filter (no_new_privs must already be set). Returns the raw syscall result.
pub fn install() usize {
    const prog = sys.SockFprog{ .len = program.len, .filter = &program };
    return linux.syscall3(.seccomp, linux.SECCOMP.SET_MODE_FILTER, 0, @intFromPtr(&prog));
}
