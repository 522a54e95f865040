//! Asynchronous runs: commands are posted without waiting, and one waiter (a single nonblocking
//! FFI call, so one thread of Deno's blocking pool however many sandboxes run) sleeps on all
//! pending sandboxes at once with futex_waitv, plus a doorbell that new posts ring.

const std = @import("std");
const linux = std.os.linux;
const abi = @import("abi");
const sys = @import("sys.zig");
const slots = @import("slots.zig");
const protocol = @import("protocol.zig");
const Slot = slots.Slot;

/// Guards the waiter's scan of the slot table against slots being torn down meanwhile.
pub var scan_lock: u32 = 0;
/// Bumped by every post, and woken when a waiter may sleep on it, so that waiter rescans.
var doorbell: u32 = 0;
/// waitAny calls in progress: a post rings the doorbell (a system call) only when there are some.
var waiters_active: u32 = 0;
/// Polls within this many time-stamp counter ticks of the post (about 5-20 µs) only look at the
/// state word: a caller may poll a quick run repeatedly, and the checks of deadline, liveness and
/// memory budget cost three system calls. They follow on the next poll after that.
const QUICK_POLL_TICKS: u64 = 20_000;

/// Longest single sleep: bounds how late a death or a deadline is noticed.
const SLICE_NS: u64 = 5_000_000;
const MAX_WAITERS = 128;
const FUTEX2_SIZE_U32: u32 = 0x02;

const FutexWaitv = extern struct { val: u64, uaddr: u64, flags: u32, reserved: u32 = 0 };

/// Posts `cmd` for an asynchronous run; `pvmbox_poll` collects the report.
pub fn post(slot: *Slot, cmd: u32, timeout_ns: u64) i32 {
    if (!slot.live) return protocol.ERR_DEAD;
    if (slot.pending) return protocol.ERR_BUSY;
    const vm = slot.vmctx.?;
    if (@atomicLoad(u32, &vm.magic, .SeqCst) != abi.VMCTX_MAGIC) {
        protocol.kill(slot);
        return protocol.ERR_PROTOCOL;
    }
    slot.posted = cmd;
    slot.posted_at = sys.ticks();
    slot.spurious_wakes = 0;
    protocol.consumeMemops(slot);
    slot.timeout_ns = timeout_ns;
    @atomicStore(u64, &slot.deadline, 0, .SeqCst);
    @atomicStore(u32, &vm.state, cmd, .SeqCst);
    if (@atomicLoad(u32, &vm.zygote_sleeping, .SeqCst) != 0) {
        _ = linux.futex_wake(@ptrCast(&vm.state), linux.FUTEX.WAKE, 1);
    }
    @atomicStore(bool, &slot.pending, true, .SeqCst);
    _ = @atomicRmw(u32, &doorbell, .Add, 1, .SeqCst);
    if (@atomicLoad(u32, &waiters_active, .SeqCst) != 0) {
        _ = linux.futex_wake(@ptrCast(&doorbell), linux.FUTEX.WAKE | linux.FUTEX.PRIVATE_FLAG, 1);
    }
    return 0;
}

/// The report of a posted command: a REPORT_*, a negative ERR_*, or 0 while still running.
pub fn poll(slot: *Slot) i32 {
    if (!slot.pending) return protocol.ERR_BUSY;
    const result = check(slot);
    if (result != 0) {
        slots.lock(&scan_lock);
        defer slots.unlock(&scan_lock);
        @atomicStore(bool, &slot.pending, false, .SeqCst);
        // Nothing waits on this zygote's state word now: its next reports need no futex wake.
        if (slot.vmctx) |vm| @atomicStore(u32, &vm.host_sleeping, 0, .SeqCst);
    }
    return result;
}

fn check(slot: *Slot) i32 {
    if (!slot.live) return protocol.ERR_DEAD;
    const vm = slot.vmctx.?;
    const s = @atomicLoad(u32, &vm.state, .SeqCst);
    if (s != slot.posted) return protocol.accept(slot, s);
    if (sys.ticks() -% slot.posted_at < QUICK_POLL_TICKS) return 0;
    if (sys.nowNs() >= deadlineOf(slot)) {
        protocol.kill(slot);
        return protocol.ERR_TIMEOUT;
    }
    if (sys.waitPidfd(slot.pidfd, sys.WNOHANG | sys.WNOWAIT)) |status| {
        slot.live = false;
        slot.death = status;
        protocol.freeGuestMemory(slot);
        return protocol.ERR_DEAD;
    }
    if (protocol.overBudget(slot)) {
        protocol.kill(slot);
        return protocol.ERR_MEMORY;
    }
    return 0;
}

/// The deadline of `slot`'s posted command, fixed at its first use: reading the clock is a system
/// call, which a run collected within QUICK_POLL_TICKS never needs. Either thread may get here
/// first; both compute about the same value.
fn deadlineOf(slot: *Slot) u64 {
    const known = @atomicLoad(u64, &slot.deadline, .SeqCst);
    if (known != 0) return known;
    const deadline = if (slot.timeout_ns == 0) std.math.maxInt(u64) else sys.nowNs() +| slot.timeout_ns;
    @atomicStore(u64, &slot.deadline, deadline, .SeqCst);
    return deadline;
}

/// Counts a wake-up by `slot` whose state word still holds what the waiter slept on.
fn noteWake(slot: *Slot, slept_on: u64) void {
    slots.lock(&scan_lock);
    defer slots.unlock(&scan_lock);
    if (!slot.used or !@atomicLoad(bool, &slot.pending, .SeqCst)) return;
    if (@atomicLoad(u32, &slot.vmctx.?.state, .SeqCst) == slept_on) slot.spurious_wakes +|= 1;
}

/// Sleeps until some pending sandbox has reported (or died, or passed its deadline), or
/// `timeout_ns` passed. Returns 1 when something is ready, 0 on timeout. Runs on a pool thread.
pub fn waitAny(timeout_ns: u64) u32 {
    // Counted before the doorbell is read below, so a post either sees this call or rings a
    // doorbell this call has not read yet.
    _ = @atomicRmw(u32, &waiters_active, .Add, 1, .SeqCst);
    defer _ = @atomicRmw(u32, &waiters_active, .Sub, 1, .SeqCst);
    const give_up = sys.nowNs() +| timeout_ns;
    var waiters: [MAX_WAITERS + 1]FutexWaitv = undefined;
    var sleepers: [MAX_WAITERS]*Slot = undefined;
    while (true) {
        const bell = @atomicLoad(u32, &doorbell, .SeqCst);
        var n: usize = 0;
        var ready = false;
        slots.lock(&scan_lock);
        for (slots.all()) |*slot| {
            if (!slot.used or !@atomicLoad(bool, &slot.pending, .SeqCst)) continue;
            const vm = slot.vmctx.?;
            @atomicStore(u32, &vm.host_sleeping, 1, .SeqCst);
            const s = @atomicLoad(u32, &vm.state, .SeqCst);
            if (s != slot.posted or !slot.live or sys.nowNs() >= deadlineOf(slot)) {
                ready = true;
                break;
            }
            // A zygote that keeps waking the waiter for nothing is only looked at every slice.
            if (n < MAX_WAITERS and slot.spurious_wakes < protocol.SPURIOUS_WAKE_LIMIT) {
                waiters[n] = .{ .val = s, .uaddr = @intFromPtr(&vm.state), .flags = FUTEX2_SIZE_U32 };
                sleepers[n] = slot;
                n += 1;
            }
        }
        slots.unlock(&scan_lock);
        if (ready) return 1;
        const now = sys.nowNs();
        if (now >= give_up) return 0;
        const wake_at = @min(give_up, now + SLICE_NS);
        waiters[n] = .{ .val = bell, .uaddr = @intFromPtr(&doorbell), .flags = FUTEX2_SIZE_U32 | 128 };
        const ts = linux.timespec{ .tv_sec = @intCast(wake_at / 1_000_000_000), .tv_nsec = @intCast(wake_at % 1_000_000_000) };
        const rc = linux.syscall5(.futex_waitv, @intFromPtr(&waiters), n + 1, 0, @intFromPtr(&ts), sys.CLOCK_MONOTONIC);
        if (!sys.failed(rc) and rc < n) noteWake(sleepers[rc], waiters[rc].val);
        if (linux.getErrno(rc) == .NOSYS) {
            // Before Linux 5.16: sleep on the doorbell alone, a slice at a time.
            var rel = linux.timespec{ .tv_sec = 0, .tv_nsec = 1_000_000 };
            _ = linux.futex_wait(@ptrCast(&doorbell), linux.FUTEX.WAIT | linux.FUTEX.PRIVATE_FLAG, @bitCast(bell), &rel);
        }
        // A slice ended or something changed: a death, deadline or spent memory budget shows up
        // in the next scan.
        if (linux.getErrno(rc) == .TIMEDOUT and sys.nowNs() < give_up) {
            slots.lock(&scan_lock);
            defer slots.unlock(&scan_lock);
            for (slots.all()) |*slot| {
                if (slot.used and @atomicLoad(bool, &slot.pending, .SeqCst) and slot.live) {
                    if (sys.waitPidfd(slot.pidfd, sys.WNOHANG | sys.WNOWAIT) != null) return 1;
                    if (protocol.overBudget(slot)) return 1;
                }
            }
        }
    }
}
