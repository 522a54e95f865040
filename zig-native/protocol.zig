//! The host half of the VmCtx protocol: post a command, then wait for the zygote's report by
//! spinning briefly and then sleeping on the futex in short slices, checking between slices that
//! the zygote is alive (pidfd) and that the deadline has not passed. Never an unbounded wait.

const std = @import("std");
const linux = std.os.linux;
const abi = @import("abi");
const sys = @import("sys.zig");
const Slot = @import("slots.zig").Slot;

pub const ERR_DEAD: i32 = -1;
pub const ERR_TIMEOUT: i32 = -2;
pub const ERR_PROTOCOL: i32 = -3;
pub const ERR_HANDLE: i32 = -4;
/// An asynchronous run is in progress; collect it first.
pub const ERR_BUSY: i32 = -5;

/// How long to busy-wait before sleeping.
const SPIN_NS: u64 = 60_000;
/// Longest single futex sleep; bounds how late a zygote's death is noticed.
const SLICE_NS: u64 = 2_000_000;

/// Posts `cmd` and waits for the report; a zero `timeout_ns` means no wall-clock limit.
pub fn command(slot: *Slot, cmd: u32, timeout_ns: u64) i32 {
    if (!slot.live) return ERR_DEAD;
    if (@atomicLoad(bool, &slot.pending, .SeqCst)) return ERR_BUSY;
    const vm = slot.vmctx.?;
    if (@atomicLoad(u32, &vm.magic, .SeqCst) != abi.VMCTX_MAGIC) return violation(slot);
    vm.memop_count = slot.memop_count;
    // Every command starts by applying (and so consuming) the queued memory operations.
    slot.memop_count = 0;
    @atomicStore(u32, &vm.state, cmd, .SeqCst);
    if (@atomicLoad(u32, &vm.zygote_sleeping, .SeqCst) != 0) {
        _ = linux.futex_wake(@ptrCast(&vm.state), linux.FUTEX.WAKE, 1);
    }
    const deadline = if (timeout_ns == 0) std.math.maxInt(u64) else sys.nowNs() +| timeout_ns;
    return waitReport(slot, cmd, deadline);
}

fn isReport(state: u32) bool {
    return state & 1 == 1 and state <= abi.REPORT_ERROR;
}

/// Waits while the state word still holds `posted`. Returns the report, or an ERR_*.
pub fn waitReport(slot: *Slot, posted: u32, deadline: u64) i32 {
    const vm = slot.vmctx.?;
    const started = sys.nowNs();
    var spins: u32 = 0;
    var shared_cpu = false;
    while (true) {
        const s = @atomicLoad(u32, &vm.state, .SeqCst);
        if (s != posted) {
            if (!isReport(s) or @atomicLoad(u32, &vm.magic, .SeqCst) != abi.VMCTX_MAGIC) return violation(slot);
            return @intCast(s);
        }
        if (spins & 0xff == 0) {
            const cpu = abi.currentCpu();
            @atomicStore(u32, &vm.host_cpu, cpu, .SeqCst);
            shared_cpu = cpu != abi.NO_CPU and cpu == @atomicLoad(u32, &vm.zygote_cpu, .SeqCst);
        }
        spins +%= 1;
        if (spins & 0xff != 0) {
            // On the zygote's CPU, spinning would only delay it.
            if (shared_cpu) _ = linux.syscall0(.sched_yield) else std.atomic.spinLoopHint();
            continue;
        }
        const now = sys.nowNs();
        if (now >= deadline) {
            kill(slot);
            return ERR_TIMEOUT;
        }
        if (now - started < SPIN_NS) {
            // If the zygote shares this CPU, spinning would only delay it.
            _ = linux.syscall0(.sched_yield);
            continue;
        }
        const slice: u64 = @min(SLICE_NS, deadline - now);
        var ts = linux.timespec{ .tv_sec = @intCast(slice / 1_000_000_000), .tv_nsec = @intCast(slice % 1_000_000_000) };
        @atomicStore(u32, &vm.host_sleeping, 1, .SeqCst);
        if (@atomicLoad(u32, &vm.state, .SeqCst) == posted) {
            _ = linux.futex_wait(@ptrCast(&vm.state), linux.FUTEX.WAIT, @bitCast(posted), &ts);
        }
        @atomicStore(u32, &vm.host_sleeping, 0, .SeqCst);
        if (@atomicLoad(u32, &vm.state, .SeqCst) == posted) {
            if (sys.waitPidfd(slot.pidfd, sys.WNOHANG | sys.WNOWAIT)) |status| {
                slot.live = false;
                slot.death = status;
                return ERR_DEAD;
            }
        }
    }
}

/// SIGKILLs the zygote and waits until it is gone (not reaped: dispose does that).
pub fn kill(slot: *Slot) void {
    _ = linux.pidfd_send_signal(slot.pidfd, linux.SIG.KILL, null, 0);
    slot.death = sys.waitPidfd(slot.pidfd, sys.WNOWAIT) orelse slot.death;
    slot.live = false;
}

fn violation(slot: *Slot) i32 {
    kill(slot);
    return ERR_PROTOCOL;
}
