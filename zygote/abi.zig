//! The pvmbox sandbox ABI: the address map of a zygote, the VmCtx page shared between host and
//! zygote, its state machine and the file descriptors a zygote is started with. This file is the
//! single source of truth; the host library, the zygote and (through an exported description)
//! the TypeScript mirror in `ffi/vmctx.ts` all derive from it.
//!
//! Contract for generated guest code:
//! - It is entered with `jmp` at CODE_ADDR + VmCtx.entry, with the 13 PVM registers loaded into
//!   the native registers GUEST_REGISTERS, GAS_REGISTER (r13) = VmCtx.gas, SCRATCH_REGISTER
//!   (rcx) free, rsp on the zygote stack (usable for calls; every exit except a host call
//!   discards it).
//! - The VmCtx lies within RIP-relative reach (±2 GiB) of every byte of the code region, so code
//!   addresses its fields as [rip + disp32] and needs no register for it.
//! - Guest memory is identity-mapped: guest address = native address, below 4 GiB. 32-bit
//!   effective addresses (0x67 prefix) wrap for free; a fault becomes REPORT_PAGE_FAULT with the
//!   faulting address and rip, and the registers (gas included) as they were.
//! - Gas is the i64 in GAS_REGISTER while code runs; code subtracts block costs and, when it goes
//!   negative, restores it, sets VmCtx.pc and jumps to [trampolines.out_of_gas]. Every way out
//!   of guest code (trampolines, signals) stores GAS_REGISTER into VmCtx.gas and every way in
//!   loads it from there, so the host only ever sees and sets VmCtx.gas.
//! - Exits: set VmCtx.pc (and VmCtx.exit_arg for a host call), then
//!   `jmp [trampolines.return_to_host | trap | out_of_gas]` or `call [trampolines.host_call]`;
//!   the call returns with the registers and gas as the host left them. Every exit saves the 13
//!   registers into VmCtx.regs.
//! - Code is mapped read+execute from a sealed memfd: it can never be written by the zygote.
//!   The jump table of dynamic jumps is read-only at JUMP_TABLE_ADDR (`jmp [rcx*8 + table]`);
//!   the code generator fills it with absolute native addresses.

const std = @import("std");

comptime {
    std.debug.assert(CODE_ADDR >= GUEST_END + GUARD_GAP);
    std.debug.assert(CODE_ADDR + CODE_MAX <= VMCTX_ADDR and VMCTX_ADDR + VMCTX_SIZE <= JUMP_TABLE_ADDR);
    std.debug.assert(JUMP_TABLE_ADDR < IMAGE_ADDR and IMAGE_ADDR < STACK_ADDR);
    std.debug.assert(STACK_ADDR + STACK_SIZE <= SIGSTACK_ADDR);
    // Every byte of the VmCtx is a rel32 away from every instruction end in the code region.
    std.debug.assert(VMCTX_ADDR + VMCTX_SIZE - CODE_ADDR <= 1 << 31);
}

/// Bumped whenever anything in this file changes meaning or position.
pub const ABI_VERSION: u32 = 10;
/// Written by the host into `VmCtx.magic`; a zygote that changes it is treated as compromised.
pub const VMCTX_MAGIC: u32 = 0x70766d62; // "pvmb"

pub const PAGE_SIZE: u64 = 4096;

// ---- Address map of a zygote (guest address = native address below 4 GiB). ----
pub const GUEST_START: u64 = 0x1_0000;
pub const GUEST_END: u64 = 0xFFFF_0000;
/// Unmapped space above guest memory: a guest address plus any 32-bit displacement (even with a
/// forgotten 0x67 prefix) lands in it and faults instead of reaching the zygote's own regions.
pub const GUARD_GAP: u64 = 4 << 30;
/// Generated machine code, mapped read+execute from the sealed code memfd. The lowest of the
/// zygote's fixed regions: a reset unmaps everything below it.
pub const CODE_ADDR: u64 = 0x2_0000_0000;
pub const CODE_MAX: u64 = 64 << 20;
/// The VmCtx page, right after the code region: within RIP-relative reach of all code, and above
/// CODE_ADDR, so a reset (which unmaps everything below CODE_ADDR) keeps it.
pub const VMCTX_ADDR: u64 = CODE_ADDR + CODE_MAX;
pub const VMCTX_SIZE: u64 = 4096;
/// The native jump table of dynamic jumps (8-byte native addresses), mapped read-only from the
/// code memfd at offset JUMP_TABLE_OFFSET.
pub const JUMP_TABLE_ADDR: u64 = 0x3_0000_0000;
pub const JUMP_TABLE_MAX: u64 = 16 << 20;
pub const JUMP_TABLE_OFFSET: u64 = CODE_MAX;
/// Size of the code memfd: code, then the jump table.
pub const CODE_FILE_SIZE: u64 = CODE_MAX + JUMP_TABLE_MAX;
/// Load address of the zygote image (linked there with the large code model).
pub const IMAGE_ADDR: u64 = 0x4_0000_0000;
pub const STACK_ADDR: u64 = 0x6_0000_0000;
pub const STACK_SIZE: u64 = 256 << 10;
pub const SIGSTACK_ADDR: u64 = 0x6_1000_0000;
/// Small enough to be zeroed with stores at every reset, ample for one signal frame.
pub const SIGSTACK_SIZE: u64 = 16 << 10;
/// The top of the zygote stack, where its own frames live: a reset zeroes it with stores (it
/// stays resident) and discards the rest (rarely touched, so discarding it costs no page faults
/// later). The signal stack is zeroed whole with stores.
pub const STACK_HOT_SIZE: u64 = 8 << 10;
/// End of the highest fixed region: start-up unmaps everything above it (the original stack,
/// vDSO and vvar).
pub const REGIONS_END: u64 = SIGSTACK_ADDR + SIGSTACK_SIZE;
/// Address-space limit of a zygote (RLIMIT_AS): all of guest memory, code, jump table, its own
/// image, VmCtx and stacks, with room to spare.
pub const ADDRESS_SPACE_LIMIT: u64 = (4 << 30) + (256 << 20);
/// Private writable memory a zygote may have (RLIMIT_DATA): its image's data and its stacks.
pub const DATA_LIMIT: u64 = 2 << 20;
/// Size of the zygote's clean extended-state image (XRSTOR source on every entry to guest code).
pub const XSTATE_IMAGE_SIZE: u64 = 4096;

// ---- File descriptors a zygote starts with. ----
pub const FD_VMCTX: i32 = 3;
pub const FD_MEMORY: i32 = 4;
pub const FD_CODE: i32 = 5;
/// Read-only memory images (e.g. a program's read-only data): sealed, written by the host only,
/// mapped read-only at guest address = file offset. Survives resets.
pub const FD_IMAGE: i32 = 6;
/// Read end of the lifetime pipe: EOF means the host is gone. Closed during start-up.
pub const FD_LIFETIME: i32 = 7;
pub const FD_COUNT: i32 = 8;

// ---- Isolation profiles (VmCtx.config_flags). ----
/// Namespaces, empty root, dropped capabilities, seccomp, rlimits.
pub const PROFILE_FULL: u32 = 0;
/// Opt-in when user namespaces are unavailable: seccomp, rlimits, no_new_privs only.
pub const PROFILE_WEAK: u32 = 1;

// ---- States of VmCtx.state, the futex word. ----
// Values the host writes (commands) are even; values the zygote writes (reports) are odd.
pub const STATE_DEAD: u32 = 0;
pub const CMD_RUN: u32 = 2;
pub const CMD_RESUME: u32 = 4;
pub const CMD_SYNC: u32 = 6;
pub const REPORT_IDLE: u32 = 1;
pub const REPORT_RETURN: u32 = 3;
pub const REPORT_HOST_CALL: u32 = 5;
pub const REPORT_TRAP: u32 = 7;
pub const REPORT_OUT_OF_GAS: u32 = 9;
pub const REPORT_PAGE_FAULT: u32 = 11;
pub const REPORT_SIGNAL: u32 = 13;
pub const REPORT_ERROR: u32 = 15;

// ---- Queued memory operations, applied by the zygote before the next command. ----
pub const MEMOP_MAP: u32 = 1;
pub const MEMOP_UNMAP: u32 = 2;
pub const MEMOP_PROTECT: u32 = 3;
/// Map pages of the image memfd read-only (shared, immutable).
pub const MEMOP_MAP_IMAGE: u32 = 4;
/// Pre-fault mapped guest memory pages that are resident in the memory memfd (kept by a reset),
/// so the next user's first touch of them costs no trap; `access` says how they are mapped.
pub const MEMOP_POPULATE: u32 = 5;
/// Zero guest memory pages with stores (after a reset: pages dirtied in a mapping the zygote
/// keeps read-write; through its own page tables, so they stay mapped).
pub const MEMOP_ZERO: u32 = 6;
pub const MAX_MEMOPS: u32 = 32;
/// Most guest mappings a reset keeps (VmCtx.kept).
pub const MAX_KEPT: u32 = 16;

pub const ACCESS_NONE: u32 = 0;
pub const ACCESS_READ: u32 = 1;
pub const ACCESS_READ_WRITE: u32 = 3;

/// x86-64 register names by encoding number (rax = 0 … r15 = 15).
pub const X86_REGISTER_NAMES = [16][]const u8{
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/// Guest register `i` lives in the x86 register numbered `GUEST_REGISTERS[i]` while guest code
/// runs (rbx rbp rsi rdi r8 r9 r10 rax rdx r11 r12 r14 r15).
pub const GUEST_REGISTERS = [13]u8{ 3, 5, 6, 7, 8, 9, 10, 0, 2, 11, 12, 14, 15 };
/// The x86 register holding the remaining gas (i64) while guest code runs (r13).
pub const GAS_REGISTER: u32 = 13;
/// The x86 register guest code may clobber freely (rcx).
pub const SCRATCH_REGISTER: u32 = 1;

comptime {
    // Every register but rsp, GAS_REGISTER and SCRATCH_REGISTER holds exactly one guest register.
    var used = [_]bool{false} ** 16;
    for (GUEST_REGISTERS) |r| {
        std.debug.assert(!used[r]);
        used[r] = true;
    }
    std.debug.assert(!used[4] and !used[GAS_REGISTER] and !used[SCRATCH_REGISTER] and GAS_REGISTER != SCRATCH_REGISTER);
}

pub const MemOp = extern struct {
    kind: u32,
    access: u32,
    address: u32,
    length: u32,
};

/// A page-aligned range of guest memory.
pub const GuestRange = extern struct {
    address: u32,
    length: u32,
};

/// Facts a zygote reports about its own confinement, gathered from inside just before seccomp.
pub const Facts = extern struct {
    uid: u32,
    gid: u32,
    pid: u32,
    no_new_privs: u32,
    securebits: u32,
    parent_death_signal: u32,
    cap_effective: u64,
    cap_permitted: u64,
    cap_inheritable: u64,
    /// Bit n set when capability n is still in the bounding set.
    cap_bounding: u64,
    rlimit_nofile: u64,
    rlimit_nproc: u64,
    rlimit_fsize: u64,
    rlimit_memlock: u64,
    rlimit_core: u64,
    rlimit_as: u64,
    rlimit_data: u64,
    /// PR_GET_SPECULATION_CTRL for speculative store bypass (PR_SPEC_* bits; 0 where the kernel
    /// offers no control).
    speculation_store_bypass: u32,
    /// errno of PR_SET_SPECULATION_CTRL (0: mitigation forced on).
    speculation_errno: u32,
    /// Bit n set when file descriptor n (0..63) is open.
    open_fds: u64,
    /// Entries in "/" other than "." and "..".
    root_entries: u32,
    /// errno of mkdir("/probe"); EROFS (30) proves a read-only root.
    root_mkdir_errno: u32,
};

/// Entry points of the zygote that generated code calls through `[rip + disp32]` (their VmCtx fields).
pub const Trampolines = extern struct {
    /// `jmp`: guest finished; registers saved, REPORT_RETURN.
    return_to_host: u64,
    /// `call`: host call with id in `exit_arg`, pc in `pc`; returns when the host resumes.
    host_call: u64,
    /// `jmp`: guest trapped at `pc`.
    trap: u64,
    /// `jmp`: gas ran out in the block at `pc`.
    out_of_gas: u64,
};

/// The page shared by host and zygote at VMCTX_ADDR. What a run and a host call exchange (state,
/// pc, host-call id, gas, registers) fills the first two cache lines exactly: after seeing the
/// state word change, a reader on the other CPU finds the rest in the same line or the next,
/// instead of waiting for one more line to cross between the CPUs.
pub const VmCtx = extern struct {
    /// Futex word: a CMD_* written by the host or a REPORT_* written by the zygote.
    state: u32,
    /// Set by the host while it sleeps in FUTEX_WAIT, so the zygote only wakes when needed.
    host_sleeping: u32,
    /// Guest pc of the exit (host call, trap, out of gas), as written by generated code.
    pc: u32,
    /// Host-call id of a REPORT_HOST_CALL.
    exit_arg: u32,
    gas: i64,
    regs: [13]u64,
    /// Set by the zygote while it sleeps in FUTEX_WAIT.
    zygote_sleeping: u32,
    magic: u32,
    abi_version: u32,
    config_flags: u32,
    /// Faulting address of a REPORT_PAGE_FAULT / REPORT_SIGNAL (si_addr).
    fault_address: u64,
    /// Native instruction pointer where a signal hit.
    native_address: u64,
    /// Signal number of a REPORT_PAGE_FAULT / REPORT_SIGNAL.
    signal: u32,
    /// errno of a failed queued operation (REPORT_ERROR).
    error_errno: u32,
    /// Native offset into the code area where CMD_RUN starts.
    entry: u64,
    /// Bytes of code the zygote must have mapped at CODE_ADDR.
    code_length: u64,
    /// Bumped by the host whenever code changes; the zygote remaps when it differs.
    code_generation: u32,
    /// Non-zero: before the next command, unmap everything below CODE_ADDR but `kept`.
    reset_pending: u32,
    heap_top: u32,
    heap_limit: u32,
    /// Bytes of jump table the zygote must have mapped at JUMP_TABLE_ADDR.
    jump_table_length: u32,
    memop_count: u32,
    memops: [MAX_MEMOPS]MemOp,
    trampolines: Trampolines,
    facts: Facts,
    /// Commands completed by the zygote.
    counter_commands: u64,
    /// Host calls made by guest code.
    counter_host_calls: u64,
    /// NUL-terminated description of a start-up failure.
    message: [256]u8,
    /// Mappings a pending reset leaves in place (sorted, disjoint, inside guest memory), up to
    /// the first empty range: the host's own mappings of the last user, their contents already
    /// zeroed by the host, kept so that the next user of the same layout finds them mapped.
    kept: [MAX_KEPT]GuestRange,
    /// CPU the host last waited on and the CPU the zygote last spun on (NO_CPU if unknown):
    /// when they match, spinning only delays the other side, so the waiter yields instead.
    host_cpu: u32,
    zygote_cpu: u32,
};

pub const NO_CPU: u32 = 0xffff_ffff;

/// Selector of the per-CPU segment Linux keeps in every CPU's GDT for user space: its limit is
/// (node << 12) | cpu. The vDSO's getcpu reads it the same way where RDPID is missing.
const CPUNODE_SELECTOR: u32 = 15 * 8 + 3;

/// The CPU this thread runs on (LSL of the per-CPU segment: no system call, and unlike RDTSCP
/// available in virtual machines that hide TSC_AUX), or NO_CPU when the segment is not there.
pub fn currentCpu() u32 {
    var limit: u32 = undefined;
    var valid: u8 = undefined;
    asm volatile ("lsll %[selector], %[limit]\nsetz %[valid]"
        : [limit] "=r" (limit),
          [valid] "=r" (valid),
        : [selector] "r" (CPUNODE_SELECTOR),
        : "cc"
    );
    return if (valid != 0) limit & 0xfff else NO_CPU;
}

/// Records the CPU this thread runs on in `mine` and tells whether `theirs` names the same one
/// (then the other side cannot run while this one spins). Stores only on a change: both fields
/// share a cache line, and a store on every wait would move it between the CPUs each time.
pub fn sharesCpu(mine: *u32, theirs: *const u32) bool {
    const cpu = currentCpu();
    if (@atomicLoad(u32, mine, .Monotonic) != cpu) @atomicStore(u32, mine, cpu, .Monotonic);
    return cpu != NO_CPU and cpu == @atomicLoad(u32, theirs, .Monotonic);
}

comptime {
    std.debug.assert(@sizeOf(VmCtx) <= VMCTX_SIZE);
    std.debug.assert(@offsetOf(VmCtx, "state") == 0);
    std.debug.assert(@offsetOf(VmCtx, "regs") + @sizeOf([13]u64) == 128);
}

fn describeFields(comptime T: type, comptime prefix: []const u8, comptime base: usize) []const u8 {
    comptime var out: []const u8 = "";
    inline for (@typeInfo(T).Struct.fields) |f| {
        const off = base + @offsetOf(T, f.name);
        const info = @typeInfo(f.type);
        if (info == .Struct) {
            out = out ++ describeFields(f.type, prefix ++ f.name ++ ".", off);
        } else {
            out = out ++ std.fmt.comptimePrint("field {s}{s} {d} {d}\n", .{ prefix, f.name, off, @sizeOf(f.type) });
        }
    }
    return out;
}

fn describeConstants() []const u8 {
    comptime var out: []const u8 = "";
    const decls = @typeInfo(@This()).Struct.decls;
    inline for (decls) |d| {
        if (comptime std.mem.eql(u8, d.name, "DESCRIPTION")) continue;
        const value = @field(@This(), d.name);
        const T = @TypeOf(value);
        if (T == u32 or T == u64 or T == i32 or T == comptime_int) {
            out = out ++ std.fmt.comptimePrint("const {s} {d}\n", .{ d.name, value });
        }
    }
    return out;
}

fn describeList(comptime name: []const u8, comptime values: anytype) []const u8 {
    comptime var out: []const u8 = "list " ++ name;
    inline for (values) |v| out = out ++ std.fmt.comptimePrint(" {d}", .{v});
    return out ++ "\n";
}

/// Text description of the ABI: "const NAME VALUE", "list NAME V0 V1 …" and
/// "field NAME OFFSET SIZE" lines.
pub const DESCRIPTION: []const u8 = blk: {
    @setEvalBranchQuota(100_000);
    break :blk describeConstants() ++ describeList("GUEST_REGISTERS", GUEST_REGISTERS) ++
        std.fmt.comptimePrint("size VmCtx {d}\n", .{@sizeOf(VmCtx)}) ++
        describeFields(VmCtx, "", 0);
};
