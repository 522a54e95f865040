//! Kernel constants and structures the zygote needs that Zig 0.11's std.os.linux lacks.

pub const SECBIT_NOROOT: usize = 1 << 0;
pub const SECBIT_NOROOT_LOCKED: usize = 1 << 1;
pub const SECBIT_NO_SETUID_FIXUP: usize = 1 << 2;
pub const SECBIT_NO_SETUID_FIXUP_LOCKED: usize = 1 << 3;
pub const SECBIT_KEEP_CAPS_LOCKED: usize = 1 << 5;
pub const SECBIT_NO_CAP_AMBIENT_RAISE: usize = 1 << 6;
pub const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: usize = 1 << 7;

pub const CAPABILITY_VERSION_3: u32 = 0x20080522;
pub const CapHeader = extern struct { version: u32, pid: i32 };
pub const CapData = extern struct { effective: u32 = 0, permitted: u32 = 0, inheritable: u32 = 0 };

/// Classic BPF instruction and program (linux/filter.h).
pub const SockFilter = extern struct { code: u16, jt: u8, jf: u8, k: u32 };
pub const SockFprog = extern struct { len: u16, filter: [*]const SockFilter };

pub const MNT_DETACH: u32 = 2;
pub const MADV_DONTNEED: u32 = 4;
pub const MADV_POPULATE_READ: u32 = 22;
pub const MADV_POPULATE_WRITE: u32 = 23;
pub const PR_SPEC_STORE_BYPASS: usize = 0;
pub const PR_SPEC_FORCE_DISABLE: usize = 8;
/// Highest user address on x86-64 with 4-level paging (TASK_SIZE).
pub const USER_TOP: u64 = 0x7FFF_FFFF_F000;
/// XSAVE state components a zygote never restores: AMX tile configuration and data (their first
/// use faults unless the process asked for them, which a zygote cannot).
pub const XFEATURES_SKIPPED: u64 = (1 << 17) | (1 << 18);
pub const PR_CAP_AMBIENT_CLEAR_ALL: usize = 4;

/// prctl with an option from std's `PR` enum.
pub fn prctl(option: @import("std").os.linux.PR, arg2: usize) usize {
    return @import("std").os.linux.prctl(@intFromEnum(option), arg2, 0, 0, 0);
}
