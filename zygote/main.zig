//! The pvmbox zygote: a static, libc-free process that confines itself, then runs guest machine
//! code on request from the host, talking only through the VmCtx page (see abi.zig).
//!
//! Start-up (host has already set up namespaces, uid maps, a read-only tmpfs as cwd, the fds of
//! abi.zig and the signal mask): map stack and VmCtx (then close its fd), arm parent-death,
//! unmap the original stack, vDSO and vvar, pivot into the empty root, record the root and the
//! open descriptors, install fault handlers, force the speculative-store-bypass mitigation, set
//! rlimits, drop capabilities, set no_new_privs, record the other facts, install the seccomp
//! filter, report IDLE. After that only the syscalls in `seccomp.zig` work.
//!
//! Every entry into guest code starts from a known machine state: RFLAGS = 0x202 (direction and
//! alignment-check flags clear) and the x87, SSE, AVX, AVX-512 (mask registers included) and PKRU
//! state in its initial configuration (XRSTOR of a clean image in read-only data). A reset
//! zeroes both stacks (stores for the signal stack and the top of the zygote stack, madvise for
//! the rest) and unmaps everything below CODE_ADDR but the guest mappings the host keeps.

const std = @import("std");
const linux = std.os.linux;
const abi = @import("abi.zig");
const seccomp = @import("seccomp.zig");
const lockdown = @import("lockdown.zig");
const sys = @import("sys.zig");
const vmctx = @import("vmctx.zig");
const vm = vmctx.vm;
const publish = vmctx.publish;
const check = vmctx.check;

/// Any panic kills the zygote; the host reports it as a dead sandbox.
pub fn panic(_: []const u8, _: ?*std.builtin.StackTrace, _: ?usize) noreturn {
    linux.exit_group(120);
}

const STACK_TOP: u64 = abi.STACK_ADDR + abi.STACK_SIZE;

/// Busy-wait iterations (each a `pause`) before sleeping on the futex.
const SPIN_LIMIT: u32 = 20_000;
/// Busy-wait iterations between looks at the CPUs (RDTSCP, no system call).
const CHECK_EVERY: u32 = 256;
/// Busy-wait iterations between yields while the host is not known to share this CPU: the host
/// records its CPU only when it waits, and may have been moved here while it ran a handler. A
/// yield is a system call (about a microsecond on virtual machines) that delays a command
/// arriving meanwhile, and under load it hands the CPU to other processes: rarely, then.
const YIELD_EVERY: u32 = 4096;

var code_mapped: u64 = 0;
var jump_table_mapped: u64 = 0;
var code_generation: u32 = 0;

// ---- Entry and stack switch. ----

pub export fn _start() callconv(.Naked) noreturn {
    asm volatile (
        \\ xorl %%ebp, %%ebp
        \\ andq $-16, %%rsp
        \\ movabsq %[start], %%rax
        \\ callq *%%rax
        \\ ud2
        :
        : [start] "i" (&start),
    );
}

fn start() callconv(.C) noreturn {
    const stack = linux.mmap(@ptrFromInt(abi.STACK_ADDR), abi.STACK_SIZE, linux.PROT.READ | linux.PROT.WRITE, linux.MAP.PRIVATE | linux.MAP.ANONYMOUS | linux.MAP.FIXED_NOREPLACE, -1, 0);
    if (stack != abi.STACK_ADDR) linux.exit_group(3);
    asm volatile (
        \\ movq %[top], %%rsp
        \\ callq *%[main]
        \\ ud2
        :
        : [top] "r" (STACK_TOP),
          [main] "r" (&zygoteMain),
    );
    unreachable;
}

// ---- Start-up and lockdown. ----

fn zygoteMain() callconv(.C) noreturn {
    const mapped = linux.mmap(@ptrFromInt(abi.VMCTX_ADDR), abi.VMCTX_SIZE, linux.PROT.READ | linux.PROT.WRITE, linux.MAP.SHARED | linux.MAP.FIXED_NOREPLACE, abi.FD_VMCTX, 0);
    if (mapped != abi.VMCTX_ADDR) linux.exit_group(4);
    _ = linux.close(abi.FD_VMCTX);
    if (@atomicLoad(u32, &vm.magic, .SeqCst) != abi.VMCTX_MAGIC or vm.abi_version != abi.ABI_VERSION) linux.exit_group(5);

    // Die with the host; then make sure the host did not die before the signal was armed.
    check("PR_SET_PDEATHSIG", sys.prctl(.SET_PDEATHSIG, linux.SIG.KILL));
    var probe: [1]u8 = undefined;
    const alive = linux.read(abi.FD_LIFETIME, &probe, 1);
    if (linux.getErrno(alive) != .AGAIN) linux.exit_group(6);
    _ = linux.close(abi.FD_LIFETIME);
    // Nothing above the fixed regions is needed: the original stack, vDSO and vvar go.
    check("unmap original stack and vDSO", linux.munmap(@ptrFromInt(abi.REGIONS_END), sys.USER_TOP - abi.REGIONS_END));
    checkCleanStateImage();

    const full = vm.config_flags == abi.PROFILE_FULL;
    if (full) lockdown.enterEmptyRoot();
    lockdown.recordRootFacts();
    lockdown.recordOpenFds();
    installSignalHandlers();
    lockdown.mitigateSpeculation();
    lockdown.setLimits();
    lockdown.dropCapabilities(full);
    check("PR_SET_NO_NEW_PRIVS", sys.prctl(.SET_NO_NEW_PRIVS, 1));
    lockdown.recordFacts();
    vm.trampolines = .{
        .return_to_host = @intFromPtr(&pvmbox_z_return),
        .host_call = @intFromPtr(&pvmbox_z_host_call),
        .trap = @intFromPtr(&pvmbox_z_trap),
        .out_of_gas = @intFromPtr(&pvmbox_z_out_of_gas),
    };
    check("seccomp", seccomp.install());
    publish(abi.REPORT_IDLE);
    loop();
}

fn installSignalHandlers() void {
    const altstack = linux.mmap(@ptrFromInt(abi.SIGSTACK_ADDR), abi.SIGSTACK_SIZE, linux.PROT.READ | linux.PROT.WRITE, linux.MAP.PRIVATE | linux.MAP.ANONYMOUS | linux.MAP.FIXED_NOREPLACE, -1, 0);
    check("map signal stack", altstack);
    var ss = linux.stack_t{ .sp = @ptrFromInt(abi.SIGSTACK_ADDR), .flags = 0, .size = abi.SIGSTACK_SIZE };
    check("sigaltstack", linux.sigaltstack(&ss, null));
    // The handler never returns (no rt_sigreturn is allowed): it jumps out to the exit path.
    // SA_NODEFER and an empty mask leave no signal blocked once it has.
    const action = linux.Sigaction{
        .handler = .{ .sigaction = &onSignal },
        .mask = std.mem.zeroes(linux.sigset_t),
        .flags = linux.SA.SIGINFO | linux.SA.ONSTACK | linux.SA.NODEFER,
    };
    for ([_]u6{ linux.SIG.SEGV, linux.SIG.BUS, linux.SIG.ILL, linux.SIG.FPE }) |sig| {
        check("sigaction", linux.sigaction(sig, &action, null));
    }
    // The host spawns with every signal blocked; guest faults must be deliverable.
    const none = std.mem.zeroes(linux.sigset_t);
    check("sigprocmask", linux.sigprocmask(linux.SIG.SETMASK, &none, null));
}

// ---- The command loop. ----

fn isCommand(state: u32) bool {
    return state != abi.STATE_DEAD and state & 1 == 0;
}

fn waitForCommand() u32 {
    var spins: u32 = 0;
    var shared_cpu = false;
    while (true) {
        const s = @atomicLoad(u32, &vm.state, .SeqCst);
        if (isCommand(s)) return s;
        if (spins < SPIN_LIMIT) {
            if (spins % CHECK_EVERY == 0) shared_cpu = abi.sharesCpu(&vm.zygote_cpu, &vm.host_cpu);
            spins += 1;
            // If the host waits on this CPU, spinning would only delay it: yield instead. Yield
            // now and then anyway, in case the scheduler put both on one CPU meanwhile.
            if (shared_cpu or spins % YIELD_EVERY == 0) _ = linux.syscall0(.sched_yield) else std.atomic.spinLoopHint();
            continue;
        }
        @atomicStore(u32, &vm.zygote_sleeping, 1, .SeqCst);
        if (@atomicLoad(u32, &vm.state, .SeqCst) == s) {
            _ = linux.futex_wait(@ptrCast(&vm.state), linux.FUTEX.WAIT, @bitCast(s), null);
        }
        @atomicStore(u32, &vm.zygote_sleeping, 0, .SeqCst);
    }
}

fn loop() noreturn {
    while (true) dispatch(waitForCommand());
}

/// Runs one command. Returns only when the command is complete and reported. A pending reset
/// first scrubs the stacks, which abandons this stack: the command then runs on a fresh one.
fn dispatch(cmd: u32) void {
    if (@atomicLoad(u32, &vm.reset_pending, .SeqCst) != 0) pvmbox_z_scrub(cmd);
    if (!applyPending()) return publish(abi.REPORT_ERROR);
    switch (cmd) {
        abi.CMD_SYNC => publish(abi.REPORT_IDLE),
        abi.CMD_RUN => {
            if (vm.entry >= code_mapped) {
                vm.error_errno = @intFromEnum(linux.E.FAULT);
                return publish(abi.REPORT_ERROR);
            }
            pvmbox_z_enter(abi.CODE_ADDR + vm.entry);
        },
        else => {
            vm.error_errno = @intFromEnum(linux.E.INVAL);
            publish(abi.REPORT_ERROR);
        },
    }
}

fn protOf(access: u32) usize {
    return switch (access) {
        abi.ACCESS_READ => linux.PROT.READ,
        abi.ACCESS_READ_WRITE => linux.PROT.READ | linux.PROT.WRITE,
        else => linux.PROT.NONE,
    };
}

/// Continues a reset on fresh, zeroed stacks: every mapping below the zygote's fixed regions
/// goes (guest memory, images, and anything a guest mapped there) but the ones the host keeps,
/// then the command runs.
export fn pvmbox_z_after_scrub(cmd: u32) callconv(.C) noreturn {
    unmapAllBut(&vm.kept);
    @atomicStore(u32, &vm.reset_pending, 0, .SeqCst);
    dispatch(cmd);
    loop();
}

/// Unmaps everything below CODE_ADDR outside the ranges of `kept` (up to the first empty one);
/// everything, when they are not sorted, disjoint, page-aligned guest ranges (the page is
/// shared: never trust it further). Nothing can be mapped below GUEST_START (the filter lets no
/// mapping be made there, and the zygote's own regions lie above CODE_ADDR): the gaps start there.
fn unmapAllBut(kept: []const abi.GuestRange) void {
    var cursor: u64 = abi.GUEST_START;
    for (kept) |range| {
        if (range.length == 0) break;
        const address: u64 = range.address;
        const end = address + range.length;
        const valid = address % abi.PAGE_SIZE == 0 and range.length % abi.PAGE_SIZE == 0 and
            address >= cursor and end <= abi.GUEST_END;
        if (!valid) {
            _ = linux.syscall2(.munmap, 0, abi.CODE_ADDR);
            return;
        }
        if (address > cursor) _ = linux.syscall2(.munmap, cursor, address - cursor);
        cursor = end;
    }
    _ = linux.syscall2(.munmap, cursor, abi.CODE_ADDR - cursor);
}

/// Applies queued memory operations and new code. False on failure (errno set).
fn applyPending() bool {
    const count = @min(vm.memop_count, abi.MAX_MEMOPS);
    // Zeroed only when set: a store on every command would pull the line from the host each time.
    if (count != 0) vm.memop_count = 0;
    for (vm.memops[0..count]) |op| {
        const start_addr: u64 = op.address;
        const len: u64 = op.length;
        const valid = start_addr % abi.PAGE_SIZE == 0 and len % abi.PAGE_SIZE == 0 and len > 0 and
            start_addr >= abi.GUEST_START and start_addr + len <= abi.GUEST_END;
        const rc = if (!valid) @as(usize, @bitCast(@as(isize, -@as(isize, @intFromEnum(linux.E.INVAL))))) else switch (op.kind) {
            abi.MEMOP_MAP => linux.mmap(@ptrFromInt(start_addr), len, protOf(op.access), linux.MAP.SHARED | linux.MAP.FIXED, abi.FD_MEMORY, @intCast(start_addr)),
            abi.MEMOP_UNMAP => linux.munmap(@ptrFromInt(start_addr), len),
            abi.MEMOP_PROTECT => linux.mprotect(@ptrFromInt(start_addr), len, protOf(op.access)),
            abi.MEMOP_MAP_IMAGE => linux.mmap(@ptrFromInt(start_addr), len, linux.PROT.READ, linux.MAP.SHARED | linux.MAP.FIXED, abi.FD_IMAGE, @intCast(start_addr)),
            abi.MEMOP_POPULATE => populate(start_addr, len, op.access),
            abi.MEMOP_ZERO => zero(start_addr, len),
            else => @as(usize, @bitCast(@as(isize, -@as(isize, @intFromEnum(linux.E.INVAL))))),
        };
        if (linux.getErrno(rc) != .SUCCESS) {
            vm.error_errno = @intFromEnum(linux.getErrno(rc));
            return false;
        }
    }
    if (vm.code_generation != code_generation) {
        code_mapped = remap(abi.CODE_ADDR, code_mapped, @min(vm.code_length, abi.CODE_MAX), linux.PROT.READ | linux.PROT.EXEC, 0) orelse return false;
        jump_table_mapped = remap(abi.JUMP_TABLE_ADDR, jump_table_mapped, @min(vm.jump_table_length, abi.JUMP_TABLE_MAX), linux.PROT.READ, abi.JUMP_TABLE_OFFSET) orelse return false;
        code_generation = vm.code_generation;
    }
    return true;
}

/// Pre-faults [address, address+len) (MEMOP_POPULATE). Only a hint: it fails harmlessly on
/// kernels before 5.14 (EINVAL) or where the range is not mapped as `access` says, and the
/// guest then faults the pages in itself. Always succeeds.
fn populate(address: u64, len: u64, access: u32) usize {
    const advice = if (access == abi.ACCESS_READ_WRITE) sys.MADV_POPULATE_WRITE else sys.MADV_POPULATE_READ;
    _ = linux.madvise(@ptrFromInt(address), len, advice);
    return 0;
}

/// Zeroes [address, address+len) (MEMOP_ZERO) with stores. The host asks only for pages mapped
/// read-write; anything else (guest code changed the mapping) faults here, outside guest code,
/// which kills the zygote rather than leave the bytes. Always succeeds.
fn zero(address: u64, len: u64) usize {
    asm volatile ("cld\nrep stosb"
        :
        : [dst] "{rdi}" (address),
          [count] "{rcx}" (len),
          [value] "{al}" (@as(u8, 0)),
        : "rdi", "rcx", "memory", "cc"
    );
    return 0;
}

/// Replaces the mapping of `old` bytes at `address` by `length` bytes (rounded up to pages) of
/// the code memfd at `offset`. Returns the mapped length, or null with errno set.
fn remap(address: u64, old: u64, length: u64, prot: usize, offset: u64) ?u64 {
    if (old != 0) _ = linux.munmap(@ptrFromInt(address), old);
    const len = std.mem.alignForward(u64, length, abi.PAGE_SIZE);
    if (len == 0) return 0;
    const rc = linux.mmap(@ptrFromInt(address), len, prot, linux.MAP.SHARED | linux.MAP.FIXED, abi.FD_CODE, @intCast(offset));
    if (linux.getErrno(rc) != .SUCCESS) {
        vm.error_errno = @intFromEnum(linux.getErrno(rc));
        return null;
    }
    return len;
}

// ---- Exits from guest code. ----

/// Called on the fresh stack by the exit trampolines and by a signal return.
export fn pvmbox_z_exit(report: u32) callconv(.C) noreturn {
    publish(report);
    loop();
}

/// Called by the host-call trampoline with registers saved. Returns to the guest on CMD_RESUME;
/// a reset, or any command but CMD_SYNC and CMD_RESUME, abandons the guest for a fresh stack.
export fn pvmbox_z_host_call_wait() callconv(.C) void {
    vm.counter_host_calls +%= 1;
    publish(abi.REPORT_HOST_CALL);
    while (true) {
        const cmd = waitForCommand();
        const parked = cmd == abi.CMD_SYNC or cmd == abi.CMD_RESUME;
        if (!parked or @atomicLoad(u32, &vm.reset_pending, .SeqCst) != 0) abandonGuest(cmd);
        // The host may map memory while it handles the call; that keeps the guest parked.
        if (!applyPending()) {
            publish(abi.REPORT_ERROR);
        } else if (cmd == abi.CMD_RESUME) {
            return;
        } else publish(abi.REPORT_IDLE);
    }
}

fn abandonGuest(cmd: u32) noreturn {
    asm volatile (
        \\ movq %[top], %%rsp
        \\ xorl %%ebp, %%ebp
        \\ callq *%[dispatch]
        \\ ud2
        :
        : [top] "r" (STACK_TOP),
          [dispatch] "r" (&dispatchFresh),
          [cmd] "{edi}" (cmd),
    );
    unreachable;
}

fn dispatchFresh(cmd: u32) callconv(.C) noreturn {
    dispatch(cmd);
    loop();
}

fn onSignal(sig: c_int, info: *const linux.siginfo_t, context: ?*const anyopaque) callconv(.C) void {
    // The kernel clears the direction flag for a handler, not alignment checking.
    asm volatile ("subq $128, %%rsp\n" ++ CLEAN_FLAGS ++ "addq $128, %%rsp" ::: "memory", "cc");
    const uc: *linux.ucontext_t = @constCast(@ptrCast(@alignCast(context.?)));
    const g = &uc.mcontext.gregs;
    const rip = g[linux.REG.RIP];
    // A fault outside guest code is a zygote bug: die rather than guess.
    if (rip < abi.CODE_ADDR or rip >= abi.CODE_ADDR + code_mapped) linux.exit_group(100 + sig);
    inline for (abi.GUEST_REGISTERS, 0..) |reg, i| vm.regs[i] = g[comptime contextIndex(reg)];
    // Gas lives in its register while guest code runs; the host reads it from the VmCtx, and a
    // resumed run (CMD_RUN at the faulting instruction) loads it from there again.
    vm.gas = @bitCast(g[comptime contextIndex(abi.GAS_REGISTER)]);
    // Only a fault with an address (si_code > 0) is a memory access; a general-protection fault
    // (SI_KERNEL, e.g. `int 0x80` on a kernel without IA32 emulation) is a plain signal.
    const memory_fault = (sig == linux.SIG.SEGV or sig == linux.SIG.BUS) and info.code > 0 and info.code < 0x80;
    const address: u64 = if (memory_fault) @intFromPtr(info.fields.sigfault.addr) else 0;
    vm.signal = @intCast(sig);
    vm.native_address = rip;
    vm.fault_address = address;
    const report = if (memory_fault and address < (1 << 32)) abi.REPORT_PAGE_FAULT else abi.REPORT_SIGNAL;
    // Leave the handler by jumping into the exit path on a fresh stack; nothing is blocked.
    asm volatile (
        \\ movq %[top], %%rsp
        \\ xorl %%ebp, %%ebp
        \\ callq *%[exit]
        \\ ud2
        :
        : [top] "r" (STACK_TOP),
          [exit] "r" (&pvmbox_z_exit),
          [report] "{edi}" (report),
    );
    unreachable;
}

// ---- Clean machine state for guest code. ----

/// The XRSTOR source loaded on every entry: a standard-form XSAVE area whose header marks every
/// component as in its initial state; only MXCSR (at byte 24) is read, as its default 0x1F80.
/// Read-only data, so no guest can plant values in it for the next user.
export const pvmbox_z_clean_xstate: [abi.XSTATE_IMAGE_SIZE]u8 align(64) = blk: {
    var image = [_]u8{0} ** abi.XSTATE_IMAGE_SIZE;
    image[24] = 0x80;
    image[25] = 0x1F;
    break :blk image;
};

fn cpuid(leaf: u32, sub: u32) [4]u32 {
    var a: u32 = undefined;
    var b: u32 = undefined;
    var c: u32 = undefined;
    var d: u32 = undefined;
    asm volatile ("cpuid"
        : [a] "={eax}" (a),
          [b] "={ebx}" (b),
          [c] "={ecx}" (c),
          [d] "={edx}" (d),
        : [leaf] "{eax}" (leaf),
          [sub] "{ecx}" (sub),
    );
    return .{ a, b, c, d };
}

/// Start-up check that XRSTOR is usable and that the clean image covers every state component
/// the entry path restores; refusing to start beats entering guest code with stale state.
fn checkCleanStateImage() void {
    const osxsave = cpuid(1, 0)[2] & (1 << 27) != 0;
    if (!osxsave) vmctx.failWith("clean vector state: the CPU or kernel offers no XSAVE", @intFromEnum(linux.E.NOSYS));
    var lo: u32 = undefined;
    var hi: u32 = undefined;
    asm volatile ("xgetbv"
        : [lo] "={eax}" (lo),
          [hi] "={edx}" (hi),
        : [xcr] "{ecx}" (@as(u32, 0)),
    );
    const restored = ((@as(u64, hi) << 32) | lo) & ~sys.XFEATURES_SKIPPED;
    var component: u6 = 2;
    while (component < 63) : (component += 1) {
        if (restored & (@as(u64, 1) << component) == 0) continue;
        const info = cpuid(0xD, component);
        if (@as(u64, info[0]) + info[1] > abi.XSTATE_IMAGE_SIZE) vmctx.failWith("clean vector state: XSAVE area larger than the clean image", @intFromEnum(linux.E.NOSPC));
    }
}

/// Where the signal context (mcontext gregs) keeps the x86 register numbered `reg`.
fn contextIndex(comptime reg: u8) usize {
    const R = linux.REG;
    const by_number = [16]usize{ R.RAX, R.RCX, R.RDX, R.RBX, R.RSP, R.RBP, R.RSI, R.RDI, R.R8, R.R9, R.R10, R.R11, R.R12, R.R13, R.R14, R.R15 };
    return by_number[reg];
}

// ---- Trampolines (global assembly; the register order is abi.GUEST_REGISTERS). ----

const GAS_REG = abi.X86_REGISTER_NAMES[abi.GAS_REGISTER];
const SCRATCH_REG = abi.X86_REGISTER_NAMES[abi.SCRATCH_REGISTER];
const GAS_OFFSET = @offsetOf(abi.VmCtx, "gas");

extern fn pvmbox_z_enter(target: u64) callconv(.C) noreturn;
extern fn pvmbox_z_scrub(cmd: u32) callconv(.C) noreturn;

fn zeroWithStores(comptime address: u64, comptime length: u64) []const u8 {
    return std.fmt.comptimePrint("movabsq ${d}, %rdi\nmovl ${d}, %ecx\nxorl %eax, %eax\nrep stosb\n", .{ address, length });
}

fn madviseDontNeed(comptime address: u64, comptime length: u64) []const u8 {
    return std.fmt.comptimePrint("movabsq ${d}, %rdi\nmovq ${d}, %rsi\nmovl ${d}, %edx\nmovl ${d}, %eax\nsyscall\n", .{ address, length, sys.MADV_DONTNEED, @intFromEnum(linux.SYS.madvise) });
}
extern fn pvmbox_z_return() callconv(.Naked) void;
extern fn pvmbox_z_host_call() callconv(.Naked) void;
extern fn pvmbox_z_trap() callconv(.Naked) void;
extern fn pvmbox_z_out_of_gas() callconv(.Naked) void;

/// Stores the guest registers and the gas register into the VmCtx, addressed by SCRATCH_REG
/// (which it loads; guest code may clobber it).
const SAVE_GUEST_STATE: []const u8 = blk: {
    var out: []const u8 = std.fmt.comptimePrint("movabsq ${d}, %{s}\n", .{ abi.VMCTX_ADDR, SCRATCH_REG });
    for (abi.GUEST_REGISTERS, 0..) |reg, i| {
        out = out ++ std.fmt.comptimePrint("movq %{s}, {d}(%{s})\n", .{ abi.X86_REGISTER_NAMES[reg], @offsetOf(abi.VmCtx, "regs") + 8 * i, SCRATCH_REG });
    }
    break :blk out ++ std.fmt.comptimePrint("movq %{s}, {d}(%{s})\n", .{ GAS_REG, GAS_OFFSET, SCRATCH_REG });
};

/// Loads the guest registers and the gas register from the VmCtx, addressed by GAS_REG until
/// the gas itself replaces the address. Leaves SCRATCH_REG alone (it may hold the target).
const LOAD_GUEST_STATE: []const u8 = blk: {
    var out: []const u8 = std.fmt.comptimePrint("movabsq ${d}, %{s}\n", .{ abi.VMCTX_ADDR, GAS_REG });
    for (abi.GUEST_REGISTERS, 0..) |reg, i| {
        out = out ++ std.fmt.comptimePrint("movq {d}(%{s}), %{s}\n", .{ @offsetOf(abi.VmCtx, "regs") + 8 * i, GAS_REG, abi.X86_REGISTER_NAMES[reg] });
    }
    break :blk out ++ std.fmt.comptimePrint("movq {d}(%{s}), %{s}\n", .{ GAS_OFFSET, GAS_REG, GAS_REG });
};

/// Flags for the zygote's own code, whatever guest code left: direction and alignment-check
/// flags clear (a `rep movs` would run backwards, a misaligned access would raise SIGBUS).
const CLEAN_FLAGS = "pushq $0x202\npopfq\n";

fn exitTrampoline(comptime name: []const u8, comptime report: u32) []const u8 {
    return ".globl " ++ name ++ "\n.type " ++ name ++ ",@function\n" ++ name ++ ":\n" ++
        SAVE_GUEST_STATE ++
        std.fmt.comptimePrint("movl ${d}, %edi\nmovabsq ${d}, %rsp\n", .{ report, STACK_TOP }) ++ CLEAN_FLAGS ++
        "xorl %ebp, %ebp\nmovabsq $pvmbox_z_exit, %rax\ncallq *%rax\nud2\n";
}

comptime {
    asm (".text\n" ++
            // enter(target in rdi): clean flags and extended state (XRSTOR of the clean image
            // with the enabled components but AMX), load guest registers and gas, jump.
            ".globl pvmbox_z_enter\n.type pvmbox_z_enter,@function\npvmbox_z_enter:\n" ++
            "movq %rdi, %r12\n" ++
            "xorl %ecx, %ecx\nxgetbv\n" ++
            std.fmt.comptimePrint("andl ${d}, %eax\n", .{@as(u32, @truncate(~sys.XFEATURES_SKIPPED))}) ++
            "movabsq $pvmbox_z_clean_xstate, %rcx\nxrstor64 (%rcx)\n" ++
            CLEAN_FLAGS ++
            "movq %r12, %" ++ SCRATCH_REG ++ "\n" ++
            LOAD_GUEST_STATE ++
            "jmpq *%" ++ SCRATCH_REG ++ "\n" ++
            // scrub(cmd in edi): without using either stack, zero the top of the zygote stack
            // and the whole signal stack with stores, discard the rest of the zygote stack (it
            // reads back as zero), then continue on the fresh stack in pvmbox_z_after_scrub(cmd).
            ".globl pvmbox_z_scrub\n.type pvmbox_z_scrub,@function\npvmbox_z_scrub:\n" ++
            "movl %edi, %r12d\ncld\n" ++
            zeroWithStores(STACK_TOP - abi.STACK_HOT_SIZE, abi.STACK_HOT_SIZE) ++
            zeroWithStores(abi.SIGSTACK_ADDR, abi.SIGSTACK_SIZE) ++
            madviseDontNeed(abi.STACK_ADDR, abi.STACK_SIZE - abi.STACK_HOT_SIZE) ++
            std.fmt.comptimePrint("movabsq ${d}, %rsp\n", .{STACK_TOP}) ++
            "xorl %ebp, %ebp\nmovl %r12d, %edi\nmovabsq $pvmbox_z_after_scrub, %rax\ncallq *%rax\nud2\n" ++
            exitTrampoline("pvmbox_z_return", abi.REPORT_RETURN) ++
            exitTrampoline("pvmbox_z_trap", abi.REPORT_TRAP) ++
            exitTrampoline("pvmbox_z_out_of_gas", abi.REPORT_OUT_OF_GAS) ++
            // host_call: called by guest code; saves registers and gas, waits for the host,
            // reloads them (the host may have changed them) and returns into the guest.
            ".globl pvmbox_z_host_call\n.type pvmbox_z_host_call,@function\npvmbox_z_host_call:\n" ++
            SAVE_GUEST_STATE ++
            "movq %rsp, %r12\nandq $-16, %rsp\n" ++ CLEAN_FLAGS ++
            "movabsq $pvmbox_z_host_call_wait, %rax\ncallq *%rax\n" ++
            "movq %r12, %rsp\n" ++
            LOAD_GUEST_STATE ++
            "retq\n");
}
