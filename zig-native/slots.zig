//! The table of zygotes this library holds, addressed by integer handles that carry a
//! generation so a stale handle never reaches a reused slot.

const std = @import("std");
const abi = @import("abi");
const sys = @import("sys.zig");

pub const MAX_SLOTS: u32 = 1024;
const INDEX_BITS = 10;
pub const MAX_EXTENTS = 8;

pub const Slot = struct {
    used: bool = false,
    generation: u32 = 0,
    /// The process exists and has not been seen dead.
    live: bool = false,
    pid: i32 = -1,
    pidfd: i32 = -1,
    lifetime_fd: i32 = -1,
    vmctx: ?*abi.VmCtx = null,
    memory: ?[*]u8 = null,
    code: ?[*]u8 = null,
    /// Memory operations queued in VmCtx since the last command.
    memop_count: u32 = 0,
    code_length: usize = 0,
    jump_table_length: usize = 0,
    code_generation: u32 = 0,
    /// The isolation profile it was spawned with (abi.PROFILE_*).
    profile: u32 = 0,
    death: sys.ExitStatus = .{ .code = 0, .status = 0 },
    /// Trampoline addresses as reported at start-up, before any guest code ran.
    trampolines: abi.Trampolines = std.mem.zeroes(abi.Trampolines),
    /// Confinement facts as reported at start-up, before any guest code ran.
    facts: abi.Facts = std.mem.zeroes(abi.Facts),
    /// errno of the latest REPORT_ERROR, validated (1..4095) when it arrived.
    errno: u32 = 0,
    /// Bytes of guest memory (allocated pages of the memory memfd) allowed; 0: no limit.
    memory_limit: u64 = 0,
    /// Time-stamp counter when the memory budget was last checked.
    budget_checked_at: u64 = 0,
    /// Wake-ups of the asynchronous waiter by this zygote that changed nothing (a futex storm).
    spurious_wakes: u32 = 0,
    /// Guest ranges mapped since the last reset, so a reset discards only those.
    mapped_extents: Extents = .{},
    /// Guest ranges whose pages the last reset zeroed in place (resident in the memory memfd).
    resident: ResidentRuns = .{},
    /// The guest mappings made since the last reset, as the host asked for them.
    mappings: Mappings = .{},
    /// Mappings the last reset left in the zygote (contents zeroed) that no operation since has
    /// taken over or dropped.
    kept: Mappings = .{},
    /// False when the zygote may hold other mappings than `mappings` and `kept` say (queued
    /// operations a reset discarded, or one that failed): the next reset then keeps nothing.
    mappings_known: bool = true,
    /// Most dirty pages a reset zeroes in place for the next user; it frees the rest.
    keep_resident_pages: usize = DEFAULT_KEEP_RESIDENT_PAGES,
    /// An asynchronous command is posted and not yet collected (read by the waiter thread).
    pending: bool = false,
    /// The command last posted asynchronously, when (time-stamp counter), its wall-clock limit
    /// (0: none) and its deadline (0 until first needed).
    posted: u32 = 0,
    posted_at: u64 = 0,
    timeout_ns: u64 = 0,
    deadline: u64 = 0,
    memory_fd: i32 = -1,
    image_fd: i32 = -1,
    image: ?[*]u8 = null,
};

/// Dirty pages a reset keeps resident unless the host sets another budget (4 MiB): about what
/// a benchmark-sized program touches, and a bound on what an idle pooled zygote holds.
pub const DEFAULT_KEEP_RESIDENT_PAGES: usize = 1024;

/// Guest ranges whose pages are resident; never merged over a gap (pre-faulting a page that is
/// not resident would allocate it), so ranges beyond the capacity are forgotten instead.
pub const ResidentRuns = struct {
    ranges: [MAX_RUNS][2]u64 = undefined,
    count: u32 = 0,

    const MAX_RUNS = 16;

    pub fn note(self: *ResidentRuns, lo: u64, hi: u64) void {
        if (self.count > 0 and self.ranges[self.count - 1][1] == lo) {
            self.ranges[self.count - 1][1] = hi;
        } else self.keep(lo, hi);
    }

    /// Forgets [lo, hi): the parts of runs on either side stay while there is room for them.
    pub fn forget(self: *ResidentRuns, lo: u64, hi: u64) void {
        const old = self.*;
        self.count = 0;
        for (old.list()) |r| {
            if (r[1] <= lo or hi <= r[0]) {
                self.keep(r[0], r[1]);
                continue;
            }
            if (r[0] < lo) self.keep(r[0], lo);
            if (hi < r[1]) self.keep(hi, r[1]);
        }
    }

    fn keep(self: *ResidentRuns, lo: u64, hi: u64) void {
        if (self.count == MAX_RUNS) return;
        self.ranges[self.count] = .{ lo, hi };
        self.count += 1;
    }

    pub fn list(self: *const ResidentRuns) []const [2]u64 {
        return self.ranges[0..self.count];
    }

    pub fn clear(self: *ResidentRuns) void {
        self.count = 0;
    }
};

/// A guest mapping exactly as one queued operation made it: `kind` MEMOP_MAP or MEMOP_MAP_IMAGE
/// of [address, address + length) with `access`.
pub const Mapping = struct {
    address: u64,
    length: u64,
    kind: u32,
    access: u32,
    /// Made inaccessible (PROT_NONE) by the host while kept and not taken over.
    hidden: bool = false,
};

/// Disjoint mappings as single operations made them. One that a later operation touches only in
/// part is forgotten (the zygote then holds something else there); so is any beyond the capacity.
pub const Mappings = struct {
    items: [abi.MAX_KEPT]Mapping = undefined,
    count: u32 = 0,

    /// The index of the mapping of exactly [address, address + length), if any.
    pub fn find(self: *const Mappings, address: u64, length: u64) ?usize {
        for (self.list(), 0..) |m, i| {
            if (m.address == address and m.length == length) return i;
        }
        return null;
    }

    /// Removes and returns the mapping at `index` (the order is not kept).
    pub fn take(self: *Mappings, index: usize) Mapping {
        const m = self.items[index];
        self.count -= 1;
        self.items[index] = self.items[self.count];
        return m;
    }

    /// Records the operation `kind` on [address, address + length): a map adds (or replaces) a
    /// mapping, a protection change of exactly one mapping updates it, anything else forgets the
    /// mappings it overlaps.
    pub fn record(self: *Mappings, kind: u32, address: u64, length: u64, access: u32) void {
        if (kind == abi.MEMOP_PROTECT) {
            if (self.find(address, length)) |i| {
                self.items[i].access = access;
                return;
            }
        }
        var i: usize = 0;
        while (i < self.count) {
            const m = self.items[i];
            if (m.address < address + length and address < m.address + m.length) {
                _ = self.take(i);
            } else i += 1;
        }
        if ((kind == abi.MEMOP_MAP or kind == abi.MEMOP_MAP_IMAGE) and self.count < abi.MAX_KEPT) {
            self.items[self.count] = .{ .address = address, .length = length, .kind = kind, .access = access };
            self.count += 1;
        }
    }

    /// Sorts the mappings by address.
    pub fn sort(self: *Mappings) void {
        std.sort.insertion(Mapping, self.items[0..self.count], {}, struct {
            fn less(_: void, a: Mapping, b: Mapping) bool {
                return a.address < b.address;
            }
        }.less);
    }

    /// The mappings recorded, in no particular order until `sort`.
    pub fn list(self: *const Mappings) []const Mapping {
        return self.items[0..self.count];
    }

    /// Forgets every mapping.
    pub fn clear(self: *Mappings) void {
        self.count = 0;
    }
};

/// A short list of guest ranges; merged into one covering range when it overflows.
pub const Extents = struct {
    ranges: [MAX_EXTENTS][2]u64 = undefined,
    count: u32 = 0,

    pub fn note(self: *Extents, lo: u64, hi: u64) void {
        if (self.count == MAX_EXTENTS) {
            var min = lo;
            var max = hi;
            for (self.ranges) |e| {
                min = @min(min, e[0]);
                max = @max(max, e[1]);
            }
            self.ranges[0] = .{ min, max };
            self.count = 1;
            return;
        }
        self.ranges[self.count] = .{ lo, hi };
        self.count += 1;
    }

    /// Sorts the ranges and joins those that overlap or touch; returns them.
    pub fn disjoint(self: *Extents) []const [2]u64 {
        const ranges = self.ranges[0..self.count];
        std.sort.insertion([2]u64, ranges, {}, struct {
            fn less(_: void, a: [2]u64, b: [2]u64) bool {
                return a[0] < b[0];
            }
        }.less);
        var n: usize = 0;
        for (ranges) |r| {
            if (n > 0 and r[0] <= ranges[n - 1][1]) {
                ranges[n - 1][1] = @max(ranges[n - 1][1], r[1]);
            } else {
                ranges[n] = r;
                n += 1;
            }
        }
        self.count = @intCast(n);
        return ranges[0..n];
    }

    pub fn intersects(self: *const Extents, lo: u64, hi: u64) bool {
        for (self.list()) |e| {
            if (e[0] < hi and lo < e[1]) return true;
        }
        return false;
    }

    pub fn list(self: *const Extents) []const [2]u64 {
        return self.ranges[0..self.count];
    }

    pub fn clear(self: *Extents) void {
        self.count = 0;
    }
};

var table: [MAX_SLOTS]Slot = std.mem.zeroes([MAX_SLOTS]Slot);
var table_lock: u32 = 0;

pub fn lock(l: *u32) void {
    while (@cmpxchgWeak(u32, l, 0, 1, .Acquire, .Monotonic) != null) std.atomic.spinLoopHint();
}

pub fn unlock(l: *u32) void {
    @atomicStore(u32, l, 0, .Release);
}

/// Claims a free slot, or null when all are in use.
pub fn acquire() ?*Slot {
    lock(&table_lock);
    defer unlock(&table_lock);
    for (&table) |*slot| {
        if (!slot.used) {
            const generation = slot.generation +% 1;
            slot.* = .{ .used = true, .generation = generation };
            return slot;
        }
    }
    return null;
}

pub fn release(slot: *Slot) void {
    lock(&table_lock);
    defer unlock(&table_lock);
    const generation = slot.generation;
    slot.* = .{ .generation = generation };
}

pub fn handleOf(slot: *Slot) i32 {
    const index: u32 = @intCast((@intFromPtr(slot) - @intFromPtr(&table)) / @sizeOf(Slot));
    return @intCast(((slot.generation & 0xF_FFFF) << INDEX_BITS) | index);
}

/// The slot a handle names, or null for a stale or invalid handle.
pub fn lookup(handle: i32) ?*Slot {
    if (handle < 0) return null;
    const h: u32 = @intCast(handle);
    const index = h & (MAX_SLOTS - 1);
    const slot = &table[index];
    if (!slot.used or (slot.generation & 0xF_FFFF) != h >> INDEX_BITS) return null;
    return slot;
}

/// The whole table (for the asynchronous waiter's scan).
pub fn all() []Slot {
    return &table;
}

pub fn count() u32 {
    var n: u32 = 0;
    for (&table) |*slot| n += @intFromBool(slot.used);
    return n;
}
