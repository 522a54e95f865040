//! The host half of the VmCtx protocol: post a command, then wait for the zygote's report by
//! spinning briefly and then sleeping on the futex in short slices, checking between slices that
//! the zygote is alive (pidfd), within its memory budget, and that the deadline has not passed.
//! Never an unbounded wait. Everything read back from the VmCtx is validated: the zygote (and so
//! guest code) can write all of it.
//!
//! A quick report costs no system call: the spin is bounded by the time-stamp counter, and the
//! clock is read only once the spin is over (so the wall-clock limit counts from there, at most
//! SPIN_TICKS after the post). On virtual machines a system call can cost a microsecond or more,
//! several times the rest of a host-call round trip.

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
/// The guest's memory passed its budget; the zygote was killed.
pub const ERR_MEMORY: i32 = -6;

/// How long to busy-wait before sleeping, in time-stamp counter ticks (30-120 µs at the 1-4 GHz
/// such counters run at).
const SPIN_TICKS: u64 = 120_000;
/// Busy-wait iterations between looks at the CPUs and the counter (and, for a longer wait, a
/// yield: the zygote may have been moved onto this CPU meanwhile).
const SPINS_PER_CHECK: u32 = 256;
/// Longest single futex sleep; bounds how late a zygote's death is noticed.
const SLICE_NS: u64 = 2_000_000;
/// Highest errno the kernel uses: a REPORT_ERROR with anything outside 1..MAX_ERRNO is forged.
const MAX_ERRNO: u32 = 4095;
/// Time-stamp counter ticks between two checks of the memory budget at reports (0.5-2 ms): the
/// guest can only allocate while it runs, so this bounds the guest time between checks, however
/// many reports arrive meanwhile (a check is an fstat, a system call: not one per round trip).
/// A wait that sleeps checks the budget after every slice as well.
const BUDGET_CHECK_TICKS: u64 = 2_000_000;
/// Futex wake-ups that changed nothing before a wait stops sleeping on the futex (a guest that
/// calls FUTEX_WAKE in a loop) and sleeps plain slices instead.
pub const SPURIOUS_WAKE_LIMIT: u32 = 64;

/// Posts `cmd` and waits for the report until `timeout_ns` passed (0: no wall-clock limit).
pub fn command(slot: *Slot, cmd: u32, timeout_ns: u64) i32 {
    if (!slot.live) return ERR_DEAD;
    if (@atomicLoad(bool, &slot.pending, .SeqCst)) return ERR_BUSY;
    const vm = slot.vmctx.?;
    if (@atomicLoad(u32, &vm.magic, .SeqCst) != abi.VMCTX_MAGIC) return violation(slot);
    consumeMemops(slot);
    @atomicStore(u32, &vm.state, cmd, .SeqCst);
    if (@atomicLoad(u32, &vm.zygote_sleeping, .SeqCst) != 0) {
        _ = linux.futex_wake(@ptrCast(&vm.state), linux.FUTEX.WAKE, 1);
    }
    return waitReport(slot, cmd, timeout_ns);
}

/// Hands the queued memory operations to the next command, which applies (and so consumes) them
/// first. The count is stored only when there are some: the zygote zeroes it as it applies them,
/// and a store on every command would move its cache line between the CPUs on each round trip.
pub fn consumeMemops(slot: *Slot) void {
    if (slot.memop_count == 0) return;
    slot.vmctx.?.memop_count = slot.memop_count;
    slot.memop_count = 0;
}

fn isReport(state: u32) bool {
    return state & 1 == 1 and state <= abi.REPORT_ERROR;
}

/// Validates the state word `s` the zygote left in place of the posted command: a known report
/// with an intact magic, a REPORT_ERROR's errno in range, and (BUDGET_CHECK_TICKS after the last
/// check) the memory budget. Returns the report or an ERR_*.
pub fn accept(slot: *Slot, s: u32) i32 {
    const vm = slot.vmctx.?;
    // The zygote wrote the second line of the exchange fields (registers 5-12) too, and the
    // caller reads the registers next (a Sandbox does after every run): fetching it now overlaps
    // its transfer from the zygote's CPU with the way back to TypeScript. (A caller that never
    // reads them pays for it: the zygote then has to take the line back for its next exit.)
    @prefetch(@as([*]const u8, @ptrCast(vm)) + 64, .{ .rw = .read, .locality = 3, .cache = .data });
    if (!isReport(s) or @atomicLoad(u32, &vm.magic, .SeqCst) != abi.VMCTX_MAGIC) return violation(slot);
    if (s == abi.REPORT_ERROR) {
        const errno = @atomicLoad(u32, &vm.error_errno, .SeqCst);
        if (errno == 0 or errno > MAX_ERRNO) return violation(slot);
        slot.errno = errno;
        // The failed operation stopped the queue: the zygote's mappings are not what was asked.
        slot.mappings_known = false;
    }
    const due = sys.ticks() -% slot.budget_checked_at >= BUDGET_CHECK_TICKS;
    if (due and overBudget(slot)) {
        kill(slot);
        return ERR_MEMORY;
    }
    return @intCast(s);
}

/// True when the guest memory memfd holds more allocated bytes than the slot's budget.
pub fn overBudget(slot: *Slot) bool {
    slot.budget_checked_at = sys.ticks();
    if (slot.memory_limit == 0) return false;
    var st: linux.Stat = undefined;
    if (sys.failed(linux.fstat(slot.memory_fd, &st))) return false;
    return @as(u64, @intCast(st.blocks)) * 512 > slot.memory_limit;
}

/// Waits while the state word still holds `posted`, at most `timeout_ns` (0: no limit). Returns
/// the report, or an ERR_*.
pub fn waitReport(slot: *Slot, posted: u32, timeout_ns: u64) i32 {
    const vm = slot.vmctx.?;
    const spin_end = sys.ticks() +% SPIN_TICKS;
    var spins: u32 = 0;
    var shared_cpu = false;
    while (true) : (spins +%= 1) {
        const s = @atomicLoad(u32, &vm.state, .SeqCst);
        if (s != posted) return accept(slot, s);
        if (spins % SPINS_PER_CHECK == 0) {
            shared_cpu = abi.sharesCpu(&vm.host_cpu, &vm.zygote_cpu);
            if (spins != 0) {
                if (sys.ticks() -% spin_end < 1 << 63) break;
                _ = linux.syscall0(.sched_yield);
                continue;
            }
        }
        // On the zygote's CPU, spinning would only delay it.
        if (shared_cpu) _ = linux.syscall0(.sched_yield) else std.atomic.spinLoopHint();
    }
    const deadline = if (timeout_ns == 0) std.math.maxInt(u64) else sys.nowNs() +| timeout_ns;
    var spurious: u32 = 0;
    while (true) {
        const now = sys.nowNs();
        if (now >= deadline) {
            kill(slot);
            return ERR_TIMEOUT;
        }
        const slice: u64 = @min(SLICE_NS, deadline - now);
        var ts = linux.timespec{ .tv_sec = @intCast(slice / 1_000_000_000), .tv_nsec = @intCast(slice % 1_000_000_000) };
        if (spurious >= SPURIOUS_WAKE_LIMIT) {
            _ = linux.nanosleep(&ts, null);
        } else {
            @atomicStore(u32, &vm.host_sleeping, 1, .SeqCst);
            var rc: usize = 1;
            if (@atomicLoad(u32, &vm.state, .SeqCst) == posted) {
                rc = linux.futex_wait(@ptrCast(&vm.state), linux.FUTEX.WAIT, @bitCast(posted), &ts);
            }
            @atomicStore(u32, &vm.host_sleeping, 0, .SeqCst);
            if (rc == 0 and @atomicLoad(u32, &vm.state, .SeqCst) == posted) spurious += 1;
        }
        const s = @atomicLoad(u32, &vm.state, .SeqCst);
        if (s != posted) return accept(slot, s);
        if (sys.waitPidfd(slot.pidfd, sys.WNOHANG | sys.WNOWAIT)) |status| {
            slot.live = false;
            slot.death = status;
            freeGuestMemory(slot);
            return ERR_DEAD;
        }
        if (overBudget(slot)) {
            kill(slot);
            return ERR_MEMORY;
        }
    }
}

/// SIGKILLs the zygote and waits until it is gone (not reaped: dispose does that); its guest
/// memory is freed at once.
pub fn kill(slot: *Slot) void {
    _ = linux.pidfd_send_signal(slot.pidfd, linux.SIG.KILL, null, 0);
    slot.death = sys.waitPidfd(slot.pidfd, sys.WNOWAIT) orelse slot.death;
    slot.live = false;
    freeGuestMemory(slot);
}

/// Frees every page of a dead zygote's guest memory (the host keeps its mapping until dispose).
pub fn freeGuestMemory(slot: *Slot) void {
    _ = linux.fallocate(slot.memory_fd, sys.FALLOC_FL_PUNCH_HOLE | sys.FALLOC_FL_KEEP_SIZE, 0, @intCast(@as(u64, 1) << 32));
}

fn violation(slot: *Slot) i32 {
    kill(slot);
    return ERR_PROTOCOL;
}
