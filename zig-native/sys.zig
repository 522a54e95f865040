//! Small syscall helpers and kernel constants missing from Zig 0.11's std.os.linux.

const std = @import("std");
const linux = std.os.linux;

pub const CLOSE_RANGE_CLOEXEC: usize = 4;
pub const SEEK_DATA: usize = 3;
pub const FALLOC_FL_KEEP_SIZE: i32 = 0x01;
pub const FALLOC_FL_PUNCH_HOLE: i32 = 0x02;
pub const F_ADD_SEALS: i32 = 1033;
pub const F_SEAL_SEAL: usize = 0x1;
pub const F_SEAL_SHRINK: usize = 0x2;
pub const F_SEAL_GROW: usize = 0x4;
pub const F_SEAL_WRITE: usize = 0x8;
pub const F_SEAL_FUTURE_WRITE: usize = 0x10;
pub const MFD_EXEC: u32 = 0x10;
pub const F_DUPFD_CLOEXEC: i32 = 1030;
pub const P_PIDFD: usize = 3;
pub const WEXITED: usize = 4;
pub const WNOHANG: usize = 1;
pub const WNOWAIT: usize = 0x0100_0000;
pub const WALL: usize = 0x4000_0000;
pub const CLOCK_MONOTONIC: usize = 1;

/// A failed step and its errno, reported to TypeScript.
pub const Failure = struct {
    step: u32 = 0,
    errno: u32 = 0,

    /// Records `step` with the errno of the raw result `rc`; returns null for `return` chaining.
    pub fn set(self: *Failure, comptime T: type, step: u32, rc: usize) ?T {
        self.step = step;
        self.errno = @intFromEnum(linux.getErrno(rc));
        return null;
    }
};

/// True when a raw syscall result is an error.
pub fn failed(rc: usize) bool {
    return linux.getErrno(rc) != .SUCCESS;
}

/// prctl with an option from std's `PR` enum.
pub fn prctl(option: linux.PR, arg2: usize) usize {
    return linux.prctl(@intFromEnum(option), arg2, 0, 0, 0);
}

/// Status of a finished child: how it ended (CLD_*) and the exit code or signal.
pub const ExitStatus = struct { code: i32, status: i32 };

/// waitid on a pidfd. `options` adds WNOHANG/WNOWAIT. Returns null while the child runs.
pub fn waitPidfd(pidfd: i32, options: usize) ?ExitStatus {
    var info: [128]u8 align(8) = [_]u8{0} ** 128;
    const rc = linux.syscall5(.waitid, P_PIDFD, @as(usize, @bitCast(@as(isize, pidfd))), @intFromPtr(&info), WEXITED | WALL | options, 0);
    if (failed(rc)) return .{ .code = 0, .status = 0 };
    const pid = std.mem.readIntLittle(i32, info[16..20]);
    if (pid == 0) return null;
    return .{ .code = std.mem.readIntLittle(i32, info[8..12]), .status = std.mem.readIntLittle(i32, info[24..28]) };
}

/// Blocks until the child is gone and reaps it.
pub fn reap(pidfd: i32) void {
    _ = waitPidfd(pidfd, 0);
}

/// Monotonic time in nanoseconds (raw syscall: no vDSO lookup inside a foreign process).
pub fn nowNs() u64 {
    var ts: linux.timespec = undefined;
    _ = linux.syscall2(.clock_gettime, CLOCK_MONOTONIC, @intFromPtr(&ts));
    return @as(u64, @intCast(ts.tv_sec)) * 1_000_000_000 + @as(u64, @intCast(ts.tv_nsec));
}

/// The time-stamp counter: a cheap, monotonic tick count for bounding spins without a system
/// call (its rate is not known here, only that it counts in the GHz range).
pub fn ticks() u64 {
    var lo: u32 = undefined;
    var hi: u32 = undefined;
    asm volatile ("rdtsc"
        : [lo] "={eax}" (lo),
          [hi] "={edx}" (hi),
    );
    return (@as(u64, hi) << 32) | lo;
}

/// Copies bytes without relying on a libc or compiler-rt memcpy.
pub fn copy(dst: [*]u8, src: [*]const u8, len: usize) void {
    var d = dst;
    var s = src;
    var n = len;
    asm volatile ("rep movsb"
        : [d] "+{rdi}" (d),
          [s] "+{rsi}" (s),
          [n] "+{rcx}" (n),
        :
        : "memory"
    );
}

/// Fills bytes with zero without relying on a libc or compiler-rt memset.
pub fn zero(dst: [*]u8, len: usize) void {
    _ = memsetImpl(dst, 0, len);
}

// The compiler lowers struct copies and fills to memcpy/memset calls; provide private ones
// rather than bundling compiler-rt or binding to the host's libc.
fn memcpyImpl(dst: [*]u8, src: [*]const u8, len: usize) callconv(.C) [*]u8 {
    copy(dst, src, len);
    return dst;
}

fn memsetImpl(dst: [*]u8, value: c_int, len: usize) callconv(.C) [*]u8 {
    var d = dst;
    var n = len;
    asm volatile ("rep stosb"
        : [d] "+{rdi}" (d),
          [n] "+{rcx}" (n),
        : [v] "{al}" (@as(u8, @truncate(@as(c_uint, @bitCast(value))))),
        : "memory"
    );
    return dst;
}

comptime {
    @export(memcpyImpl, .{ .name = "memcpy", .visibility = .hidden });
    @export(memsetImpl, .{ .name = "memset", .visibility = .hidden });
}
