//! Starting a zygote without forking the (multithreaded) host: clone3 with CLONE_VM|CLONE_VFORK
//! onto a private stack (the spawning thread pinned to its CPU meanwhile, so the child starts
//! there), a few raw syscalls in the child (its CPU mask restored, uid/gid maps, private mounts,
//! a read-only tmpfs as cwd, oom_score_adj 1000, the fd layout of abi.zig, parent-death signal),
//! then execveat of the sealed memfd that holds the embedded zygote image.

const std = @import("std");
const linux = std.os.linux;
const abi = @import("abi");
const sys = @import("sys.zig");

/// Where spawning failed; the TypeScript side turns these into messages.
pub const Step = enum(u32) {
    none = 0,
    image_memfd = 1,
    vmctx_memfd = 2,
    memory_memfd = 3,
    code_memfd = 4,
    lifetime_pipe = 5,
    child_stack = 6,
    clone = 7,
    setgroups = 8,
    uid_map = 9,
    gid_map = 10,
    mount_private = 11,
    mount_tmpfs = 12,
    chdir = 13,
    dup_fds = 14,
    parent_death = 15,
    execveat = 16,
    handshake = 17,
    handshake_died = 18,
    handshake_timeout = 19,
    no_free_slot = 20,
    map_shared = 21,
    oom_score_adj = 22,
    cpu_affinity = 23,
};

/// What the child needs; lives on the parent's stack, which the vforked child shares.
pub const ChildArgs = extern struct {
    image_fd: i32,
    fds: [5]i32, // sources for FD_VMCTX, FD_MEMORY, FD_CODE, FD_IMAGE, FD_LIFETIME
    uid: u32,
    gid: u32,
    full: u32,
    failed_step: u32 = 0,
    failed_errno: u32 = 0,
    /// The spawning thread's CPU mask, which the child restores (`affinity_len` 0: none).
    affinity: [CPU_MASK_BYTES]u8 = undefined,
    affinity_len: usize = 0,
};

/// Room for the CPU masks of sched_getaffinity and sched_setaffinity: 1024 CPUs.
const CPU_MASK_BYTES = 128;

const CloneArgs = extern struct {
    flags: u64,
    pidfd: u64,
    child_tid: u64 = 0,
    parent_tid: u64 = 0,
    exit_signal: u64 = 0,
    stack: u64,
    stack_size: u64,
    tls: u64 = 0,
    set_tid: u64 = 0,
    set_tid_size: u64 = 0,
    cgroup: u64 = 0,
};

const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_NEWNS: u64 = 0x0002_0000;
const CLONE_NEWCGROUP: u64 = 0x0200_0000;
const CLONE_NEWUTS: u64 = 0x0400_0000;
const CLONE_NEWIPC: u64 = 0x0800_0000;
const CLONE_NEWUSER: u64 = 0x1000_0000;
const CLONE_NEWPID: u64 = 0x2000_0000;
const CLONE_NEWNET: u64 = 0x4000_0000;
const NAMESPACES = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

const CHILD_STACK_SIZE: usize = 64 << 10;

/// clone3 that runs `child(arg)` on the new stack in the child and returns the pid in the parent.
extern fn pvmbox_clone3(args: *const CloneArgs, size: usize, child: *const fn (*ChildArgs) callconv(.C) noreturn, arg: *ChildArgs) callconv(.C) isize;

comptime {
    asm (
        \\ .text
        \\ .globl pvmbox_clone3
        \\ .hidden pvmbox_clone3
        \\ .type pvmbox_clone3,@function
        \\ pvmbox_clone3:
        \\   movq %rdx, %r8
        \\   movq %rcx, %r9
        \\   movl $435, %eax
        \\   syscall
        \\   testq %rax, %rax
        \\   jnz 1f
        \\   xorl %ebp, %ebp
        \\   movq %r9, %rdi
        \\   andq $-16, %rsp
        \\   callq *%r8
        \\   ud2
        \\ 1:
        \\   retq
    );
}

pub const Spawned = struct { pid: i32, pidfd: i32 };

/// Clones and execs the zygote. On failure returns the step and errno (the child is reaped).
pub fn cloneZygote(args: *ChildArgs, failure: *sys.Failure) ?Spawned {
    const stack = linux.mmap(null, CHILD_STACK_SIZE, linux.PROT.READ | linux.PROT.WRITE, linux.MAP.PRIVATE | linux.MAP.ANONYMOUS, -1, 0);
    if (sys.failed(stack)) return failure.set(Spawned, @intFromEnum(Step.child_stack), stack);
    defer _ = linux.munmap(@ptrFromInt(stack), CHILD_STACK_SIZE);

    var pidfd: i32 = -1;
    const flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND | (if (args.full != 0) NAMESPACES else 0);
    const clone_args = CloneArgs{ .flags = flags, .pidfd = @intFromPtr(&pidfd), .stack = stack, .stack_size = CHILD_STACK_SIZE };

    // Block every signal so no host handler runs on the child's borrowed stack before exec.
    var old_mask: linux.sigset_t = undefined;
    _ = linux.sigprocmask(linux.SIG.SETMASK, &linux.all_mask, &old_mask);
    const pinned = pinToCurrentCpu(args);
    const rc = pvmbox_clone3(&clone_args, @sizeOf(CloneArgs), &childMain, args);
    if (pinned) _ = linux.syscall3(.sched_setaffinity, 0, args.affinity_len, @intFromPtr(&args.affinity));
    _ = linux.sigprocmask(linux.SIG.SETMASK, &old_mask, null);

    if (rc < 0) return failure.set(Spawned, @intFromEnum(Step.clone), @bitCast(rc));
    if (args.failed_step != 0) {
        sys.reap(pidfd);
        _ = linux.close(pidfd);
        failure.step = args.failed_step;
        failure.errno = args.failed_errno;
        return null;
    }
    return .{ .pid = @intCast(rc), .pidfd = pidfd };
}

/// Restricts this thread to the CPU it runs on, keeping its mask in `args` for the child (which
/// inherits the restriction) and for the restore after the clone. The vforked child then starts
/// on the CPU its parent leaves idle while waiting for the exec, instead of queueing behind other
/// processes' work where the kernel's fork balancing may place it. False when not pinned.
fn pinToCurrentCpu(args: *ChildArgs) bool {
    const cpu = abi.currentCpu();
    if (cpu == abi.NO_CPU or cpu >= CPU_MASK_BYTES * 8) return false;
    const len = linux.syscall3(.sched_getaffinity, 0, CPU_MASK_BYTES, @intFromPtr(&args.affinity));
    if (sys.failed(len)) return false;
    var only = [_]u8{0} ** CPU_MASK_BYTES;
    only[cpu / 8] = @as(u8, 1) << @intCast(cpu % 8);
    if (sys.failed(linux.syscall3(.sched_setaffinity, 0, len, @intFromPtr(&only)))) return false;
    args.affinity_len = len;
    return true;
}

// ---- The child: shares the parent's memory until execveat; raw syscalls only. ----

fn childFail(args: *ChildArgs, step: Step, rc: usize) noreturn {
    args.failed_step = @intFromEnum(step);
    args.failed_errno = @intFromEnum(linux.getErrno(rc));
    linux.exit_group(127);
}

fn childCheck(args: *ChildArgs, step: Step, rc: usize) void {
    if (sys.failed(rc)) childFail(args, step, rc);
}

fn writeFile(path: [*:0]const u8, text: []const u8) usize {
    const fd = linux.open(path, linux.O.WRONLY | linux.O.CLOEXEC, 0);
    if (sys.failed(fd)) return fd;
    defer _ = linux.close(@intCast(fd));
    return linux.write(@intCast(fd), text.ptr, text.len);
}

fn childMain(args: *ChildArgs) callconv(.C) noreturn {
    // Running now, the child may go wherever its parent could (inherited by exec).
    if (args.affinity_len != 0) {
        childCheck(args, .cpu_affinity, linux.syscall3(.sched_setaffinity, 0, args.affinity_len, @intFromPtr(&args.affinity)));
    }
    // Under memory pressure the kernel kills a zygote before anything else (inherited by exec).
    childCheck(args, .oom_score_adj, writeFile("/proc/self/oom_score_adj", "1000"));
    if (args.full != 0) {
        var buf: [48]u8 = undefined;
        childCheck(args, .setgroups, writeFile("/proc/self/setgroups", "deny"));
        const uid_map = std.fmt.bufPrint(&buf, "0 {d} 1", .{args.uid}) catch unreachable;
        childCheck(args, .uid_map, writeFile("/proc/self/uid_map", uid_map));
        const gid_map = std.fmt.bufPrint(&buf, "0 {d} 1", .{args.gid}) catch unreachable;
        childCheck(args, .gid_map, writeFile("/proc/self/gid_map", gid_map));
        childCheck(args, .mount_private, linux.mount("none", "/", null, linux.MS.REC | linux.MS.PRIVATE, 0));
        const ro = linux.MS.RDONLY | linux.MS.NOSUID | linux.MS.NODEV | linux.MS.NOEXEC;
        var target: [*:0]const u8 = "/tmp";
        var mounted = linux.mount("pvmbox", target, "tmpfs", ro, @intFromPtr("size=4k,nr_inodes=2,mode=555"));
        if (linux.getErrno(mounted) == .NOENT) {
            target = "/proc";
            mounted = linux.mount("pvmbox", target, "tmpfs", ro, @intFromPtr("size=4k,nr_inodes=2,mode=555"));
        }
        childCheck(args, .mount_tmpfs, mounted);
        childCheck(args, .chdir, linux.chdir(target));
    }
    childCheck(args, .parent_death, sys.prctl(.SET_PDEATHSIG, linux.SIG.KILL));

    // Everything inherited closes at exec; only the abi.zig descriptors survive.
    childCheck(args, .dup_fds, linux.syscall3(.close_range, 0, std.math.maxInt(u32), sys.CLOSE_RANGE_CLOEXEC));
    var moved: [5]i32 = undefined;
    for (args.fds, 0..) |fd, i| {
        const r = linux.fcntl(fd, sys.F_DUPFD_CLOEXEC, 64);
        childCheck(args, .dup_fds, r);
        moved[i] = @intCast(r);
    }
    const targets = [5]i32{ abi.FD_VMCTX, abi.FD_MEMORY, abi.FD_CODE, abi.FD_IMAGE, abi.FD_LIFETIME };
    for (moved, targets) |fd, target_fd| childCheck(args, .dup_fds, linux.dup3(fd, target_fd, 0));

    const argv = [2]?[*:0]const u8{ "pvmbox-zygote", null };
    const envp = [1]?[*:0]const u8{null};
    const rc = linux.syscall5(.execveat, @bitCast(@as(isize, args.image_fd)), @intFromPtr(""), @intFromPtr(&argv), @intFromPtr(&envp), linux.AT.EMPTY_PATH);
    childFail(args, .execveat, rc);
}
