//! libpvmbox_native: the host side of the native sandbox, loaded by Deno.dlopen. It spawns
//! zygotes (spawn.zig), owns their shared mappings (VmCtx, guest memory in memory.zig, code)
//! and drives the VmCtx protocol (protocol.zig, and waiter.zig for asynchronous runs). Every export is a plain C function over integer handles, so
//! it works under a path-scoped --allow-ffi; pointers are handed out only for zero-copy views.

const std = @import("std");
const linux = std.os.linux;
const abi = @import("abi");
const zygote_image = @import("zygote_image");
const sys = @import("sys.zig");
const spawn = @import("spawn.zig");
const slots = @import("slots.zig");
const protocol = @import("protocol.zig");
const waiter = @import("waiter.zig");
const memory = @import("memory.zig");

comptime {
    // Guest memory, images and reset export their functions from their own module.
    _ = memory;
}

const Slot = slots.Slot;
const GUEST_SPACE = memory.GUEST_SPACE;

// ---- ABI description. ----

/// ABI version compiled into this library.
export fn pvmbox_abi_version() u32 {
    return abi.ABI_VERSION;
}

/// Copies the ABI description (see abi.DESCRIPTION) into `buf`; returns its full length.
export fn pvmbox_abi_describe(buf: [*]u8, cap: usize) usize {
    const text = abi.DESCRIPTION;
    sys.copy(buf, text.ptr, @min(cap, text.len));
    return text.len;
}

/// Size in bytes of the embedded zygote image.
export fn pvmbox_zygote_image_size() usize {
    return zygote_image.bytes.len;
}

// ---- The zygote image memfd, created once. ----

var image_fd: i32 = -1;
var image_lock: u32 = 0;

fn imageFd(failure: *sys.Failure) ?i32 {
    slots.lock(&image_lock);
    defer slots.unlock(&image_lock);
    if (image_fd >= 0) return image_fd;
    var fd_rc = linux.memfd_create("pvmbox-zygote", linux.MFD.CLOEXEC | linux.MFD.ALLOW_SEALING | sys.MFD_EXEC);
    // Kernels before 6.3 reject MFD_EXEC; their memfds are executable anyway.
    if (linux.getErrno(fd_rc) == .INVAL) fd_rc = linux.memfd_create("pvmbox-zygote", linux.MFD.CLOEXEC | linux.MFD.ALLOW_SEALING);
    if (sys.failed(fd_rc)) return failure.set(i32, @intFromEnum(spawn.Step.image_memfd), fd_rc);
    const fd: i32 = @intCast(fd_rc);
    const bytes = zygote_image.bytes;
    var done: usize = 0;
    while (done < bytes.len) {
        const n = linux.write(fd, bytes.ptr + done, bytes.len - done);
        if (sys.failed(n)) {
            _ = linux.close(fd);
            return failure.set(i32, @intFromEnum(spawn.Step.image_memfd), n);
        }
        done += n;
    }
    const seals = sys.F_SEAL_SEAL | sys.F_SEAL_SHRINK | sys.F_SEAL_GROW | sys.F_SEAL_WRITE;
    const sealed = linux.fcntl(fd, sys.F_ADD_SEALS, seals);
    if (sys.failed(sealed)) {
        _ = linux.close(fd);
        return failure.set(i32, @intFromEnum(spawn.Step.image_memfd), sealed);
    }
    image_fd = fd;
    return fd;
}

// ---- Spawning and disposal. ----

fn createMemfd(name: [*:0]const u8, size: u64, sealing: bool, step: spawn.Step, failure: *sys.Failure) ?i32 {
    const flags: u32 = linux.MFD.CLOEXEC | (if (sealing) linux.MFD.ALLOW_SEALING else @as(u32, 0));
    const rc = linux.memfd_create(name, flags);
    if (sys.failed(rc)) return failure.set(i32, @intFromEnum(step), rc);
    const fd: i32 = @intCast(rc);
    const t = linux.ftruncate(fd, @intCast(size));
    if (sys.failed(t)) {
        _ = linux.close(fd);
        return failure.set(i32, @intFromEnum(step), t);
    }
    return fd;
}

fn mapShared(fd: i32, size: usize, failure: *sys.Failure) ?[*]u8 {
    const rc = linux.mmap(null, size, linux.PROT.READ | linux.PROT.WRITE, linux.MAP.SHARED | linux.MAP.NORESERVE, fd, 0);
    if (sys.failed(rc)) return failure.set([*]u8, @intFromEnum(spawn.Step.map_shared), rc);
    return @ptrFromInt(rc);
}

/// Spawns a zygote. `profile` is abi.PROFILE_*; `handshake_ms` bounds start-up. Returns a
/// handle (>= 0), or -1 with `out[0]` = failed step (spawn.Step) and `out[1]` = errno.
/// A start-up message from the zygote, if any, is copied to `message` (NUL-terminated).
export fn pvmbox_spawn(profile: u32, handshake_ms: u32, out: *[2]u32, message: [*]u8, cap: usize) i32 {
    var failure = sys.Failure{};
    if (cap > 0) message[0] = 0;
    const handle = spawnSlot(profile, handshake_ms, &failure, message[0..cap]);
    if (handle) |h| return h;
    out[0] = failure.step;
    out[1] = failure.errno;
    return -1;
}

fn spawnSlot(profile: u32, handshake_ms: u32, failure: *sys.Failure, message: []u8) ?i32 {
    const image = imageFd(failure) orelse return null;
    const slot = slots.acquire() orelse return failure.set(i32, @intFromEnum(spawn.Step.no_free_slot), @bitCast(@as(isize, -@as(isize, @intFromEnum(linux.E.AGAIN)))));
    if (!setUp(slot, image, profile, handshake_ms, failure)) {
        if (slot.vmctx) |vm| _ = copyMessage(vm, message);
        tearDown(slot);
        slots.release(slot);
        return null;
    }
    return slots.handleOf(slot);
}

fn setUp(slot: *Slot, image: i32, profile: u32, handshake_ms: u32, failure: *sys.Failure) bool {
    const vmctx_fd = createMemfd("pvmbox-vmctx", abi.VMCTX_SIZE, false, .vmctx_memfd, failure) orelse return false;
    defer _ = linux.close(vmctx_fd);
    slot.memory_fd = createMemfd("pvmbox-memory", GUEST_SPACE, false, .memory_memfd, failure) orelse return false;
    const code_fd = createMemfd("pvmbox-code", abi.CODE_FILE_SIZE, true, .code_memfd, failure) orelse return false;
    defer _ = linux.close(code_fd);
    slot.image_fd = createMemfd("pvmbox-image", GUEST_SPACE, true, .code_memfd, failure) orelse return false;

    slot.vmctx = @ptrCast(@alignCast(mapShared(vmctx_fd, abi.VMCTX_SIZE, failure) orelse return false));
    slot.memory = mapShared(slot.memory_fd, GUEST_SPACE, failure) orelse return false;
    slot.code = mapShared(code_fd, abi.CODE_FILE_SIZE, failure) orelse return false;
    slot.image = mapShared(slot.image_fd, GUEST_SPACE, failure) orelse return false;
    // Seal after mapping: the host keeps its writable views, the zygote can map code and images
    // read-only only, and nobody can resize them.
    const seals = sys.F_SEAL_SEAL | sys.F_SEAL_SHRINK | sys.F_SEAL_GROW | sys.F_SEAL_FUTURE_WRITE;
    for ([_]i32{ code_fd, slot.image_fd }) |fd| {
        const sealed = linux.fcntl(fd, sys.F_ADD_SEALS, seals);
        if (sys.failed(sealed)) {
            _ = failure.set(void, @intFromEnum(spawn.Step.code_memfd), sealed);
            return false;
        }
    }

    const vm = slot.vmctx.?;
    vm.magic = abi.VMCTX_MAGIC;
    vm.abi_version = abi.ABI_VERSION;
    vm.config_flags = profile;
    slot.profile = profile;
    vm.state = abi.STATE_DEAD;
    vm.host_cpu = abi.NO_CPU;
    vm.zygote_cpu = abi.NO_CPU;

    var pipe_fds: [2]i32 = undefined;
    const p = linux.pipe2(&pipe_fds, linux.O.CLOEXEC | linux.O.NONBLOCK);
    if (sys.failed(p)) {
        _ = failure.set(void, @intFromEnum(spawn.Step.lifetime_pipe), p);
        return false;
    }
    defer _ = linux.close(pipe_fds[0]);
    slot.lifetime_fd = pipe_fds[1];

    var args = spawn.ChildArgs{
        .image_fd = image,
        .fds = .{ vmctx_fd, slot.memory_fd, code_fd, slot.image_fd, pipe_fds[0] },
        .uid = linux.getuid(),
        .gid = linux.getgid(),
        .full = @intFromBool(profile == abi.PROFILE_FULL),
    };
    const child = spawn.cloneZygote(&args, failure) orelse return false;
    slot.pid = child.pid;
    slot.pidfd = child.pidfd;
    slot.live = true;

    // At least 1 ns: 0 would mean no limit.
    const report = protocol.waitReport(slot, abi.STATE_DEAD, @max(1, @as(u64, handshake_ms) * 1_000_000));
    if (report == abi.REPORT_IDLE) {
        // Snapshots: nothing the zygote writes later (guest code can write it all) changes them.
        slot.trampolines = vm.trampolines;
        slot.facts = vm.facts;
        return true;
    }
    failure.step = @intFromEnum(switch (report) {
        protocol.ERR_DEAD => spawn.Step.handshake_died,
        protocol.ERR_TIMEOUT => spawn.Step.handshake_timeout,
        else => spawn.Step.handshake,
    });
    failure.errno = if (report == abi.REPORT_ERROR) slot.errno else 0;
    return false;
}

fn tearDown(slot: *Slot) void {
    if (slot.pidfd >= 0) {
        if (slot.live) _ = linux.pidfd_send_signal(slot.pidfd, linux.SIG.KILL, null, 0);
        sys.reap(slot.pidfd);
        _ = linux.close(slot.pidfd);
    }
    for ([_]i32{ slot.lifetime_fd, slot.memory_fd, slot.image_fd }) |fd| {
        if (fd >= 0) _ = linux.close(fd);
    }
    if (slot.vmctx) |v| _ = linux.munmap(@ptrCast(v), abi.VMCTX_SIZE);
    if (slot.memory) |m| _ = linux.munmap(m, GUEST_SPACE);
    if (slot.code) |c| _ = linux.munmap(c, abi.CODE_FILE_SIZE);
    if (slot.image) |m| _ = linux.munmap(m, GUEST_SPACE);
}

/// Kills (if needed) and reaps the zygote and releases every mapping and fd. 0, or -1 for a bad handle.
export fn pvmbox_dispose(handle: i32) i32 {
    const slot = slots.lookup(handle) orelse return -1;
    // The asynchronous waiter may be scanning the table on another thread.
    slots.lock(&waiter.scan_lock);
    defer slots.unlock(&waiter.scan_lock);
    tearDown(slot);
    slots.release(slot);
    return 0;
}

/// Kills the zygote but keeps the handle (its death is then reported like any other).
export fn pvmbox_kill(handle: i32) i32 {
    const slot = slots.lookup(handle) orelse return -1;
    if (slot.live) _ = linux.pidfd_send_signal(slot.pidfd, linux.SIG.KILL, null, 0);
    return 0;
}

/// Number of zygotes currently held by this library.
export fn pvmbox_live_count() u32 {
    return slots.count();
}

/// Host pid of the zygote, or -1.
export fn pvmbox_pid(handle: i32) i32 {
    const slot = slots.lookup(handle) orelse return -1;
    return slot.pid;
}

/// How a dead zygote ended: out[0] = CLD_* code, out[1] = exit status or signal. -1 if alive.
export fn pvmbox_death(handle: i32, out: *[2]i32) i32 {
    const slot = slots.lookup(handle) orelse return -1;
    if (slot.live) return -1;
    out[0] = slot.death.code;
    out[1] = slot.death.status;
    return 0;
}

// ---- Running. ----

/// Starts guest code at native offset `entry` of the code area; waits at most `timeout_ns`.
/// Returns a REPORT_* or a negative protocol.ERR_*.
export fn pvmbox_run(handle: i32, entry: u64, timeout_ns: u64) i32 {
    const slot = slots.lookup(handle) orelse return protocol.ERR_HANDLE;
    const hidden = memory.hideKept(slot, timeout_ns);
    if (hidden != 0) return commandFailure(hidden);
    slot.vmctx.?.entry = entry;
    return protocol.command(slot, abi.CMD_RUN, timeout_ns);
}

/// Resumes guest code parked in a host call.
export fn pvmbox_resume(handle: i32, timeout_ns: u64) i32 {
    const slot = slots.lookup(handle) orelse return protocol.ERR_HANDLE;
    const hidden = memory.hideKept(slot, timeout_ns);
    if (hidden != 0) return commandFailure(hidden);
    return protocol.command(slot, abi.CMD_RESUME, timeout_ns);
}

/// A command's result for a failed flush of queued operations before it: an ERR_* as it is, an
/// errno as the error report the zygote sent (its errno is in `pvmbox_last_errno`).
fn commandFailure(flushed: i32) i32 {
    return if (flushed < 0) flushed else abi.REPORT_ERROR;
}

/// Makes the zygote apply queued memory operations and new code now.
export fn pvmbox_sync(handle: i32, timeout_ns: u64) i32 {
    const slot = slots.lookup(handle) orelse return protocol.ERR_HANDLE;
    return protocol.command(slot, abi.CMD_SYNC, timeout_ns);
}

/// Posts CMD_RUN (at native offset `entry`) or CMD_RESUME without waiting; `pvmbox_poll`
/// collects the report. 0, a negative ERR_*, or REPORT_ERROR when queued memory operations that
/// had to be applied first failed (nothing was posted).
export fn pvmbox_post(handle: i32, cmd: u32, entry: u64, timeout_ns: u64) i32 {
    const slot = slots.lookup(handle) orelse return protocol.ERR_HANDLE;
    if (cmd != abi.CMD_RUN and cmd != abi.CMD_RESUME) return protocol.ERR_PROTOCOL;
    if (slot.pending) return protocol.ERR_BUSY;
    const hidden = memory.hideKept(slot, timeout_ns);
    if (hidden != 0) return commandFailure(hidden);
    if (cmd == abi.CMD_RUN) slot.vmctx.?.entry = entry;
    return waiter.post(slot, cmd, timeout_ns);
}

/// The report of a posted command: a REPORT_*, a negative ERR_*, or 0 while it still runs.
export fn pvmbox_poll(handle: i32) i32 {
    const slot = slots.lookup(handle) orelse return protocol.ERR_HANDLE;
    return waiter.poll(slot);
}

/// Waits (bind it nonblocking) until some posted command can be collected: 1, or 0 after
/// `timeout_ns`. One call serves every sandbox.
export fn pvmbox_wait_any(timeout_ns: u64) u32 {
    return waiter.waitAny(timeout_ns);
}

/// Exit details of the last report: pc, exit_arg, fault address, native address, signal, errno.
export fn pvmbox_exit_info(handle: i32, out: *[6]u64) i32 {
    const slot = slots.lookup(handle) orelse return -1;
    const vm = slot.vmctx.?;
    out.* = .{ vm.pc, vm.exit_arg, vm.fault_address, vm.native_address, vm.signal, slot.errno };
    return 0;
}

/// Address of the host's mapping of the zygote's VmCtx page, for typed views of registers, gas
/// and pc (unscoped --allow-ffi only); null for a bad handle.
export fn pvmbox_vmctx_address(handle: i32) ?*anyopaque {
    const slot = slots.lookup(handle) orelse return null;
    return @ptrCast(slot.vmctx);
}

/// Guest register `index` (0..12) as the last exit left it.
export fn pvmbox_get_reg(handle: i32, index: u32) u64 {
    const slot = slots.lookup(handle) orelse return 0;
    return if (index < 13) slot.vmctx.?.regs[index] else 0;
}

/// Sets guest register `index` (0..12) for the next run or resume.
export fn pvmbox_set_reg(handle: i32, index: u32, value: u64) void {
    const slot = slots.lookup(handle) orelse return;
    if (index < 13) slot.vmctx.?.regs[index] = value;
}

/// Copies all 13 registers out (u64 each).
export fn pvmbox_get_regs(handle: i32, out: *[13]u64) void {
    const slot = slots.lookup(handle) orelse return;
    for (slot.vmctx.?.regs, 0..) |r, i| out[i] = r;
}

/// Copies all 13 registers in.
export fn pvmbox_set_regs(handle: i32, in: *const [13]u64) void {
    const slot = slots.lookup(handle) orelse return;
    for (in, 0..) |r, i| slot.vmctx.?.regs[i] = r;
}

/// Remaining gas.
export fn pvmbox_get_gas(handle: i32) i64 {
    const slot = slots.lookup(handle) orelse return 0;
    return slot.vmctx.?.gas;
}

/// Sets the gas for the next run or resume.
export fn pvmbox_set_gas(handle: i32, gas: i64) void {
    const slot = slots.lookup(handle) orelse return;
    slot.vmctx.?.gas = gas;
}

/// Copies the confinement facts the zygote recorded at start-up (abi.Facts) into `out`.
export fn pvmbox_facts(handle: i32, out: [*]u8, cap: usize) usize {
    const slot = slots.lookup(handle) orelse return 0;
    const n = @min(cap, @sizeOf(abi.Facts));
    sys.copy(out, @ptrCast(&slot.facts), n);
    return n;
}

/// The errno of the latest REPORT_ERROR (validated to 1..4095 when it arrived), or 0.
export fn pvmbox_last_errno(handle: i32) u32 {
    const slot = slots.lookup(handle) orelse return 0;
    return slot.errno;
}

/// Limits the guest memory a zygote may allocate to `bytes` (0: no limit). Passing it kills
/// the zygote; the run that noticed reports ERR_MEMORY.
export fn pvmbox_set_memory_limit(handle: i32, bytes: u64) i32 {
    const slot = slots.lookup(handle) orelse return -1;
    slot.memory_limit = bytes;
    return 0;
}

/// Copies the zygote's message buffer into `out`; returns the text length.
export fn pvmbox_message(handle: i32, out: [*]u8, cap: usize) usize {
    const slot = slots.lookup(handle) orelse return 0;
    return copyMessage(slot.vmctx.?, out[0..cap]);
}

fn copyMessage(vm: *abi.VmCtx, out: []u8) usize {
    const msg = &vm.message;
    var len: usize = 0;
    while (len < msg.len and msg[len] != 0) len += 1;
    const n = @min(len, out.len);
    sys.copy(out.ptr, msg, n);
    if (n < out.len) out[n] = 0;
    return n;
}

// ---- Code. ----

/// Replaces the zygote's code (`len` bytes) and jump table (`table_len` bytes); the zygote maps
/// them read+execute and read-only before the next command. 0, or an errno.
export fn pvmbox_load_code(handle: i32, bytes: [*]const u8, len: usize, table: [*]const u8, table_len: usize) u32 {
    const slot = slots.lookup(handle) orelse return @intFromEnum(linux.E.BADF);
    if (len > abi.CODE_MAX or table_len > abi.JUMP_TABLE_MAX) return @intFromEnum(linux.E.FBIG);
    replace(slot.code.?, &slot.code_length, bytes, len);
    replace(slot.code.? + abi.JUMP_TABLE_OFFSET, &slot.jump_table_length, table, table_len);
    slot.code_generation +%= 1;
    const vm = slot.vmctx.?;
    vm.code_length = len;
    vm.jump_table_length = @intCast(table_len);
    vm.code_generation = slot.code_generation;
    return 0;
}

/// Writes `len` bytes at `dst`, zeroing what remains of the previous contents (the sealed memfd
/// cannot punch holes, and no stale code may survive).
fn replace(dst: [*]u8, current: *usize, bytes: [*]const u8, len: usize) void {
    sys.copy(dst, bytes, len);
    if (current.* > len) sys.zero(dst + len, current.* - len);
    current.* = len;
}
