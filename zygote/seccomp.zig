//! The zygote's seccomp filter: an allowlist of nine syscalls, several with argument checks.
//! Non-x86-64 architectures, x32 syscall numbers and everything not listed kill the process.
//!
//!   futex          FUTEX_WAIT or FUTEX_WAKE only (shared, on the VmCtx state word)
//!   mmap           guest memory fd without PROT_EXEC, the sealed code fd with exactly R+X
//!                  (code) or PROT_READ (jump table), or the sealed image fd with PROT_READ
//!   mprotect       without PROT_EXEC
//!   madvise        MADV_DONTNEED only
//!   munmap, sched_yield, rt_sigreturn, exit, exit_group   always
//!
//! Arguments are 64-bit; where the kernel reads the whole value (prot) the high half must be 0.

const std = @import("std");
const linux = std.os.linux;
const BPF = linux.BPF;
const abi = @import("abi.zig");
const sys = @import("sys.zig");

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const PROT_EXEC: u32 = linux.PROT.EXEC;
const PROT_RX: u32 = linux.PROT.READ | linux.PROT.EXEC;
const PROT_READ: u32 = linux.PROT.READ;

fn argLo(comptime n: u32) u32 {
    return 16 + 8 * n;
}
fn argHi(comptime n: u32) u32 {
    return 16 + 8 * n + 4;
}
fn nr(comptime s: linux.SYS) u32 {
    return @intCast(@intFromEnum(s));
}

/// A filter instruction with symbolic jump targets, resolved at compile time.
const Ins = union(enum) {
    label: []const u8,
    load: u32,
    ret: u32,
    jeq: Jump,
    jset: Jump,
};
const Jump = struct { k: u32, yes: []const u8, no: []const u8 };

fn jeq(k: u32, yes: []const u8, no: []const u8) Ins {
    return .{ .jeq = .{ .k = k, .yes = yes, .no = no } };
}
fn jset(k: u32, yes: []const u8, no: []const u8) Ins {
    return .{ .jset = .{ .k = k, .yes = yes, .no = no } };
}
fn at(name: []const u8) Ins {
    return .{ .label = name };
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
    jeq(nr(.rt_sigreturn), "allow", "next"),
    jeq(nr(.exit), "allow", "next"),
    jeq(nr(.exit_group), "allow", "kill"),

    at("futex"),
    .{ .load = argLo(1) },
    jeq(linux.FUTEX.WAIT, "allow", "next"),
    jeq(linux.FUTEX.WAKE, "allow", "kill"),

    at("mmap"),
    .{ .load = argLo(4) },
    jeq(@intCast(abi.FD_MEMORY), "mmap_memory", "next"),
    jeq(@intCast(abi.FD_CODE), "mmap_code", "next"),
    jeq(@intCast(abi.FD_IMAGE), "mmap_image", "kill"),
    at("mmap_memory"),
    .{ .load = argLo(2) },
    jset(PROT_EXEC, "kill", "prot_high"),
    at("mmap_code"),
    .{ .load = argLo(2) },
    jeq(PROT_RX, "prot_high", "next"),
    jeq(PROT_READ, "prot_high", "kill"),
    at("mmap_image"),
    .{ .load = argLo(2) },
    jeq(PROT_READ, "prot_high", "kill"),

    at("mprotect"),
    .{ .load = argLo(2) },
    jset(PROT_EXEC, "kill", "prot_high"),

    at("madvise"),
    .{ .load = argLo(2) },
    jeq(sys.MADV_DONTNEED, "allow", "kill"),

    at("prot_high"),
    .{ .load = argHi(2) },
    jeq(0, "allow", "kill"),

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
            .jeq => |j| out[pos] = .{ .code = BPF.JMP | BPF.JEQ | BPF.K, .jt = offset(pos, j.yes), .jf = offset(pos, j.no), .k = j.k },
            .jset => |j| out[pos] = .{ .code = BPF.JMP | BPF.JSET | BPF.K, .jt = offset(pos, j.yes), .jf = offset(pos, j.no), .k = j.k },
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
