//! Confinement steps the zygote applies to itself during start-up, and the facts it records
//! about the result for the host to check.

const std = @import("std");
const linux = std.os.linux;
const abi = @import("abi.zig");
const sys = @import("sys.zig");
const vm = @import("vmctx.zig").vm;
const check = @import("vmctx.zig").check;

/// Makes the read-only tmpfs (the host made it the cwd) the root and detaches the old one.
pub fn enterEmptyRoot() void {
    check("pivot_root", linux.syscall2(.pivot_root, @intFromPtr("."), @intFromPtr(".")));
    check("umount2", linux.umount2(".", sys.MNT_DETACH));
    check("chdir", linux.chdir("/"));
}

/// Counts the entries of "/" and probes whether it is writable.
pub fn recordRootFacts() void {
    const dir = linux.open("/", linux.O.RDONLY | linux.O.DIRECTORY | linux.O.CLOEXEC, 0);
    check("open /", dir);
    var buf: [1024]u8 align(8) = undefined;
    var entries: u32 = 0;
    while (true) {
        const n = linux.getdents64(@intCast(dir), &buf, buf.len);
        check("getdents64", n);
        if (n == 0) break;
        var off: usize = 0;
        while (off < n) {
            const reclen = std.mem.readIntLittle(u16, buf[off + 16 ..][0..2]);
            const name = std.mem.sliceTo(@as([*:0]const u8, @ptrCast(&buf[off + 19])), 0);
            if (!std.mem.eql(u8, name, ".") and !std.mem.eql(u8, name, "..")) entries += 1;
            off += reclen;
        }
    }
    _ = linux.close(@intCast(dir));
    vm.facts.root_entries = entries;
    vm.facts.root_mkdir_errno = @intFromEnum(linux.getErrno(linux.mkdir("/probe", 0o700)));
}

/// Five resource limits at zero; address space and private data bounded (abi.zig).
pub fn setLimits() void {
    const zero = linux.rlimit{ .cur = 0, .max = 0 };
    for ([_]linux.rlimit_resource{ .NOFILE, .NPROC, .FSIZE, .MEMLOCK, .CORE }) |res| {
        check("setrlimit", linux.setrlimit(res, &zero));
    }
    const space = linux.rlimit{ .cur = abi.ADDRESS_SPACE_LIMIT, .max = abi.ADDRESS_SPACE_LIMIT };
    check("setrlimit AS", linux.setrlimit(.AS, &space));
    const data = linux.rlimit{ .cur = abi.DATA_LIMIT, .max = abi.DATA_LIMIT };
    check("setrlimit DATA", linux.setrlimit(.DATA, &data));
}

/// Forces the speculative-store-bypass mitigation on where the kernel lets a process choose
/// (elsewhere it is either always on or unavailable); the outcome goes into the facts.
pub fn mitigateSpeculation() void {
    const rc = linux.prctl(@intFromEnum(linux.PR.SET_SPECULATION_CTRL), sys.PR_SPEC_STORE_BYPASS, sys.PR_SPEC_FORCE_DISABLE, 0, 0);
    vm.facts.speculation_errno = @intFromEnum(linux.getErrno(rc));
}

/// Locked securebits, empty bounding, ambient, effective, permitted and inheritable sets.
pub fn dropCapabilities(full: bool) void {
    // Locked securebits: no root magic, no regaining capabilities through setuid or ambient.
    const bits: usize = sys.SECBIT_NOROOT | sys.SECBIT_NOROOT_LOCKED | sys.SECBIT_NO_SETUID_FIXUP |
        sys.SECBIT_NO_SETUID_FIXUP_LOCKED | sys.SECBIT_KEEP_CAPS_LOCKED |
        sys.SECBIT_NO_CAP_AMBIENT_RAISE | sys.SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    const rc = sys.prctl(.SET_SECUREBITS, bits);
    // Without CAP_SETPCAP (weak profile as an ordinary user) there is nothing to lock.
    if (full) check("PR_SET_SECUREBITS", rc);
    var cap: usize = 0;
    while (cap < 64) : (cap += 1) {
        const r = sys.prctl(.CAPBSET_DROP, cap);
        if (linux.getErrno(r) == .INVAL) break;
    }
    _ = sys.prctl(.CAP_AMBIENT, sys.PR_CAP_AMBIENT_CLEAR_ALL);
    var header = sys.CapHeader{ .version = sys.CAPABILITY_VERSION_3, .pid = 0 };
    var data = [2]sys.CapData{ .{}, .{} };
    check("capset", linux.syscall2(.capset, @intFromPtr(&header), @intFromPtr(&data)));
}

/// Records the confinement facts (abi.Facts) into VmCtx.
pub fn recordFacts() void {
    const f = &vm.facts;
    f.uid = linux.getuid();
    f.gid = linux.getgid();
    f.pid = @intCast(linux.getpid());
    f.no_new_privs = @truncate(sys.prctl(.GET_NO_NEW_PRIVS, 0));
    f.securebits = @truncate(sys.prctl(.GET_SECUREBITS, 0));
    var pdeath: i32 = 0;
    _ = sys.prctl(.GET_PDEATHSIG, @intFromPtr(&pdeath));
    f.parent_death_signal = @bitCast(pdeath);
    var header = sys.CapHeader{ .version = sys.CAPABILITY_VERSION_3, .pid = 0 };
    var data = [2]sys.CapData{ .{}, .{} };
    _ = linux.syscall2(.capget, @intFromPtr(&header), @intFromPtr(&data));
    f.cap_effective = @as(u64, data[1].effective) << 32 | data[0].effective;
    f.cap_permitted = @as(u64, data[1].permitted) << 32 | data[0].permitted;
    f.cap_inheritable = @as(u64, data[1].inheritable) << 32 | data[0].inheritable;
    var bounding: u64 = 0;
    var cap: u6 = 0;
    // Capabilities are numbered without gaps; the first the kernel does not know ends them.
    while (cap < 63) : (cap += 1) {
        const r = sys.prctl(.CAPBSET_READ, cap);
        if (linux.getErrno(r) == .INVAL) break;
        if (r == 1) bounding |= @as(u64, 1) << cap;
    }
    f.cap_bounding = bounding;
    f.rlimit_nofile = limitOf(.NOFILE);
    f.rlimit_nproc = limitOf(.NPROC);
    f.rlimit_fsize = limitOf(.FSIZE);
    f.rlimit_memlock = limitOf(.MEMLOCK);
    f.rlimit_core = limitOf(.CORE);
    f.rlimit_as = limitOf(.AS);
    f.rlimit_data = limitOf(.DATA);
    const spec = linux.prctl(@intFromEnum(linux.PR.GET_SPECULATION_CTRL), sys.PR_SPEC_STORE_BYPASS, 0, 0, 0);
    f.speculation_store_bypass = if (linux.getErrno(spec) == .SUCCESS) @truncate(spec) else 0;
}

/// Records which of the descriptors 0..63 are open, in one poll (closed ones come back
/// POLLNVAL). Called after the last step that opens or closes one (recordRootFacts) and before
/// setLimits: with RLIMIT_NOFILE at 0, poll accepts no descriptors. Nothing after it can open
/// one: the remaining steps do not, and the seccomp filter allows no call that does.
pub fn recordOpenFds() void {
    var polled: [64]linux.pollfd = undefined;
    for (&polled, 0..) |*p, fd| p.* = .{ .fd = @intCast(fd), .events = 0, .revents = 0 };
    check("poll descriptors", linux.poll(&polled, polled.len, 0));
    var fds: u64 = 0;
    for (polled, 0..) |p, fd| {
        if (p.revents & linux.POLL.NVAL == 0) fds |= @as(u64, 1) << @intCast(fd);
    }
    vm.facts.open_fds = fds;
}

/// The larger of the soft and hard limit, so a test sees any way to raise it.
fn limitOf(res: linux.rlimit_resource) u64 {
    var lim: linux.rlimit = undefined;
    if (linux.getErrno(linux.prlimit(0, res, null, &lim)) != .SUCCESS) return std.math.maxInt(u64);
    return @max(lim.cur, lim.max);
}
