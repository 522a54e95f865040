//! Guest memory as the host handles it: the host's 4 GiB view of a zygote's memory memfd,
//! copy calls, read-only images, queued memory operations and resets.

const std = @import("std");
const linux = std.os.linux;
const abi = @import("abi");
const sys = @import("sys.zig");
const slots = @import("slots.zig");
const protocol = @import("protocol.zig");
const Slot = slots.Slot;

/// Bytes of guest address space (and of the memory and image memfds).
pub const GUEST_SPACE: usize = 1 << 32;

/// Address of the host's view of guest memory (4 GiB, guest address = offset): the memory
/// memfd only, also where the guest maps an image.
export fn pvmbox_memory_address(handle: i32) ?*anyopaque {
    const slot = slots.lookup(handle) orelse return null;
    return @ptrCast(slot.memory);
}

fn inGuestSpace(address: u64, len: u64) bool {
    return address <= GUEST_SPACE and len <= GUEST_SPACE - address;
}

/// Copies guest bytes [address, address+len) into `out`. 0, or an errno.
export fn pvmbox_memory_read(handle: i32, address: u64, out: [*]u8, len: usize) u32 {
    const slot = slots.lookup(handle) orelse return @intFromEnum(linux.E.BADF);
    if (!inGuestSpace(address, len)) return @intFromEnum(linux.E.FAULT);
    sys.copy(out, slot.memory.? + address, len);
    return 0;
}

/// Copies `len` bytes from `in` to guest memory at `address`. 0, or an errno.
export fn pvmbox_memory_write(handle: i32, address: u64, in: [*]const u8, len: usize) u32 {
    const slot = slots.lookup(handle) orelse return @intFromEnum(linux.E.BADF);
    if (!inGuestSpace(address, len)) return @intFromEnum(linux.E.FAULT);
    sys.copy(slot.memory.? + address, in, len);
    return 0;
}

/// Writes `len` bytes of a read-only image at guest `address` and zeroes it up to `total`.
/// Only the host can write images; the zygote maps them read-only (MEMOP_MAP_IMAGE).
export fn pvmbox_image_write(handle: i32, address: u64, bytes: [*]const u8, len: usize, total: usize) u32 {
    const slot = slots.lookup(handle) orelse return @intFromEnum(linux.E.BADF);
    if (len > total or !inGuestSpace(address, total)) return @intFromEnum(linux.E.FAULT);
    const dst = slot.image.? + address;
    sys.copy(dst, bytes, len);
    sys.zero(dst + len, total - len);
    return 0;
}

/// Queues a memory operation (abi.MEMOP_*) for whole pages; mapping and unmapping zero the
/// pages at once. Flushes the queue with a sync when full. 0, or an errno / negative ERR_*.
export fn pvmbox_memory_op(handle: i32, kind: u32, address: u64, len: u64, access: u32, timeout_ns: u64) i32 {
    const slot = slots.lookup(handle) orelse return protocol.ERR_HANDLE;
    const aligned = address % abi.PAGE_SIZE == 0 and len % abi.PAGE_SIZE == 0 and len > 0;
    // Written so that no sum can wrap: len <= GUEST_END first, then address against the rest.
    if (!aligned or address < abi.GUEST_START or len > abi.GUEST_END or address > abi.GUEST_END - len) return @intFromEnum(linux.E.INVAL);
    if (kind < abi.MEMOP_MAP or kind > abi.MEMOP_MAP_IMAGE) return @intFromEnum(linux.E.INVAL);
    // A mapping the last reset kept, asked for again exactly, is taken over as it stands.
    if (slot.kept.find(address, len)) |i| {
        if (slot.kept.items[i].kind == kind) return takeOver(slot, slot.kept.take(i), access, timeout_ns);
    }
    const dropped = dropKept(slot, address, len, timeout_ns);
    if (dropped != 0) return dropped;
    const flushed = flushIfFull(slot, timeout_ns);
    if (flushed != 0) return flushed;
    // A reset left everything zero, so mapping pages not mapped since then needs no work.
    if (kind == abi.MEMOP_UNMAP or (kind == abi.MEMOP_MAP and slot.mapped_extents.intersects(address, address + len))) {
        discard(slot, address, address + len);
    }
    if (kind == abi.MEMOP_MAP) slot.mapped_extents.note(address, address + len);
    enqueue(slot, kind, access, address, len);
    slot.mappings.record(kind, address, len, access);
    if (kind == abi.MEMOP_PROTECT) return 0;
    // Pages the last reset kept resident are pre-faulted once, when first mapped; any other
    // operation on them (unmapping frees them, an image hides them) ends that.
    if (kind == abi.MEMOP_MAP and access != abi.ACCESS_NONE) {
        for (slot.resident.list()) |r| {
            const lo = @max(r[0], address);
            const hi = @min(r[1], address + len);
            if (lo + POPULATE_MIN_PAGES * abi.PAGE_SIZE > hi) continue;
            const f = push(slot, abi.MEMOP_POPULATE, access, lo, hi - lo, timeout_ns);
            if (f != 0) return f;
        }
    }
    slot.resident.forget(address, address + len);
    return 0;
}

/// Makes kept mapping `m` the current user's with `access`: its pages stay mapped in the zygote
/// (no mmap, no page faults); only a hidden or differently protected one needs an mprotect.
fn takeOver(slot: *Slot, m: slots.Mapping, access: u32, timeout_ns: u64) i32 {
    const hi = m.address + m.length;
    if (m.kind == abi.MEMOP_MAP) slot.mapped_extents.note(m.address, hi);
    if (m.hidden or m.access != access) {
        const f = push(slot, abi.MEMOP_PROTECT, access, m.address, m.length, timeout_ns);
        if (f != 0) return f;
    }
    slot.mappings.record(m.kind, m.address, m.length, access);
    slot.resident.forget(m.address, hi);
    return 0;
}

/// Unmaps the kept mappings that overlap [address, address + len): an operation there replaces
/// them, and what it leaves of them must not stay. 0, or an errno / ERR_*.
fn dropKept(slot: *Slot, address: u64, len: u64, timeout_ns: u64) i32 {
    var i: usize = 0;
    while (i < slot.kept.count) {
        const m = slot.kept.items[i];
        if (m.address < address + len and address < m.address + m.length) {
            _ = slot.kept.take(i);
            const f = push(slot, abi.MEMOP_UNMAP, abi.ACCESS_NONE, m.address, m.length, timeout_ns);
            if (f != 0) return f;
        } else i += 1;
    }
    return 0;
}

/// Before guest code runs: the kept mappings nobody took over become inaccessible, so the
/// guest sees only what its user mapped (a fault there is the same page fault as on an unmapped
/// page); they stay in place for a later take-over (e.g. heap growth during the run). When the
/// zygote's mappings are not known for sure, they are unmapped instead. 0, or an errno / ERR_*.
pub fn hideKept(slot: *Slot, timeout_ns: u64) i32 {
    if (!slot.mappings_known) return unmapKept(slot, timeout_ns);
    for (slot.kept.items[0..slot.kept.count]) |*m| {
        if (m.hidden) continue;
        const f = push(slot, abi.MEMOP_PROTECT, abi.ACCESS_NONE, m.address, m.length, timeout_ns);
        if (f != 0) return f;
        m.hidden = true;
    }
    return 0;
}

/// Unmaps every kept mapping before the zygote serves a user other than the last one's
/// program: what a program may have done to its own mappings stays with that program. 0, or an
/// errno / negative ERR_*.
export fn pvmbox_drop_kept(handle: i32, timeout_ns: u64) i32 {
    const slot = slots.lookup(handle) orelse return protocol.ERR_HANDLE;
    return unmapKept(slot, timeout_ns);
}

fn unmapKept(slot: *Slot, timeout_ns: u64) i32 {
    while (slot.kept.count > 0) {
        const m = slot.kept.take(0);
        const f = push(slot, abi.MEMOP_UNMAP, abi.ACCESS_NONE, m.address, m.length, timeout_ns);
        if (f != 0) return f;
    }
    return 0;
}

/// Fewest kept-resident pages worth pre-faulting in one range. Pre-faulting into a range the
/// zygote has no page tables for yet (a range it maps anew rather than takes over) first allocates
/// them, about 90 µs measured here, which a guest that never touches the pages would not pay;
/// each page pre-faulted saves a trap of about 11 µs when the guest does touch it.
const POPULATE_MIN_PAGES: u64 = 8;

/// Sends the queued operations to the zygote when the queue is full. 0, or an errno / ERR_*.
fn flushIfFull(slot: *Slot, timeout_ns: u64) i32 {
    // The host's own count: the zygote can write VmCtx.memop_count, so it is never read back.
    if (slot.memop_count < abi.MAX_MEMOPS) return 0;
    const r = protocol.command(slot, abi.CMD_SYNC, timeout_ns);
    if (r < 0) return r;
    // An error report's errno was validated (1..4095) when it arrived; anything else is a
    // report a flush never expects.
    if (r == abi.REPORT_ERROR) return @intCast(slot.errno);
    if (r != abi.REPORT_IDLE) {
        protocol.kill(slot);
        return protocol.ERR_PROTOCOL;
    }
    return 0;
}

/// Queues an operation, flushing the queue first when it is full. 0, or an errno / ERR_*.
fn push(slot: *Slot, kind: u32, access: u32, address: u64, len: u64, timeout_ns: u64) i32 {
    const f = flushIfFull(slot, timeout_ns);
    if (f != 0) return f;
    enqueue(slot, kind, access, address, len);
    return 0;
}

/// Appends an operation to the queue (flushIfFull made room).
fn enqueue(slot: *Slot, kind: u32, access: u32, address: u64, len: u64) void {
    const vm = slot.vmctx.?;
    vm.memops[slot.memop_count] = .{ .kind = kind, .access = access, .address = @intCast(address), .length = @intCast(len) };
    slot.memop_count += 1;
    vm.memop_count = slot.memop_count;
}

/// Makes the sandbox fresh for the next user and waits until the zygote applied it (one round
/// trip, at most `timeout_ns`): all guest memory reads as zero (dirty pages zeroed in place up to
/// the keep-resident budget, the rest freed), the zygote unmaps everything but the mappings it
/// keeps for the next user (the current user's, when known exactly: hidden until taken over),
/// registers, gas and queued operations are cleared. Code and images stay loaded. Returns
/// REPORT_IDLE, REPORT_ERROR or a negative ERR_*.
export fn pvmbox_reset(handle: i32, timeout_ns: u64) i32 {
    const slot = slots.lookup(handle) orelse return protocol.ERR_HANDLE;
    // Operations still queued never reached the zygote: what it holds is then not known.
    const known = slot.mappings_known and slot.memop_count == 0;
    // Kept pages count against the next user's memory limit (allocated pages of the memfd)
    // until it maps them: they may take at most a quarter of it.
    const limit_pages = if (slot.memory_limit == 0) std.math.maxInt(usize) else slot.memory_limit / abi.PAGE_SIZE / 4;
    var cleaning = Cleaning{
        .slot = slot,
        .budget = @min(slot.keep_resident_pages, limit_pages),
        .allocated_pages = allocatedPages(slot),
    };
    if (known) {
        for (slot.mappings.list()) |m| {
            if (m.kind == abi.MEMOP_MAP and m.access == abi.ACCESS_READ_WRITE) cleaning.writable.record(m.kind, m.address, m.length, m.access);
        }
        cleaning.writable.sort();
    }
    slot.resident.clear();
    var extents = slot.mapped_extents;
    const dirty = extents.disjoint();
    for (dirty) |e| cleaning.zeroOrDiscard(e[0], e[1]);
    // Every allocated page was found resident in the mapped ranges: the runs mincore did not see
    // are holes, and no alias can have left anything elsewhere.
    if (cleaning.allocated_pages != cleaning.resident_pages) {
        for (cleaning.holes[0..cleaning.hole_count]) |h| discard(slot, h[0], h[1]);
        discardOutside(slot, dirty);
    }
    slot.mapped_extents.clear();
    slot.kept = if (known) slot.mappings else .{};
    slot.kept.sort();
    slot.mappings.clear();
    // The scrub unmaps everything else, so afterwards the zygote holds exactly `kept`.
    slot.mappings_known = true;
    slot.memop_count = 0;
    clearVmCtx(slot);
    const vm = slot.vmctx.?;
    // clearVmCtx left the list empty (zero lengths) past these.
    for (slot.kept.list(), 0..) |m, i| vm.kept[i] = .{ .address = @intCast(m.address), .length = @intCast(m.length) };
    for (cleaning.zero[0..cleaning.zero_count]) |z| enqueue(slot, abi.MEMOP_ZERO, abi.ACCESS_NONE, z[0], z[1] - z[0]);
    // Now, not with the next command: the zeroing must come before anything the host writes.
    return protocol.command(slot, abi.CMD_SYNC, timeout_ns);
}

/// Guest code can write all of the VmCtx page: the next user gets a page where every byte but the
/// live protocol words (state, sleeping flags, CPUs) is zero or the host's own value from start-up.
fn clearVmCtx(slot: *Slot) void {
    const vm = slot.vmctx.?;
    const bytes: [*]u8 = @ptrCast(vm);
    // The exchange fields (pc … regs) lie between the flags; the rest follows zygote_sleeping.
    const exchange = @offsetOf(abi.VmCtx, "pc");
    const first = @offsetOf(abi.VmCtx, "magic");
    const last = @offsetOf(abi.VmCtx, "host_cpu");
    comptime std.debug.assert(@offsetOf(abi.VmCtx, "host_sleeping") + 4 == exchange and
        @offsetOf(abi.VmCtx, "zygote_sleeping") + 4 == first and last + 8 == @sizeOf(abi.VmCtx));
    sys.zero(bytes + exchange, @offsetOf(abi.VmCtx, "zygote_sleeping") - exchange);
    sys.zero(bytes + first, last - first);
    // The rest of the page after the struct is guest-writable too.
    sys.zero(bytes + @sizeOf(abi.VmCtx), abi.VMCTX_SIZE - @sizeOf(abi.VmCtx));
    vm.magic = abi.VMCTX_MAGIC;
    vm.abi_version = abi.ABI_VERSION;
    vm.config_flags = slot.profile;
    vm.trampolines = slot.trampolines;
    vm.code_length = slot.code_length;
    vm.jump_table_length = @intCast(slot.jump_table_length);
    vm.code_generation = slot.code_generation;
    vm.reset_pending = 1;
}

/// Sets how many bytes of dirty guest memory a reset zeroes in place (kept resident and
/// pre-faulted for the next user, and held by the zygote while idle); beyond this it frees
/// pages, which costs more per page (a TLB shoot-down in both processes, a fault when touched
/// again) but returns the memory. Rounded down to whole pages. 0, or -1 for a stale handle.
export fn pvmbox_set_keep_resident(handle: i32, bytes: u64) i32 {
    const slot = slots.lookup(handle) orelse return -1;
    slot.keep_resident_pages = bytes / abi.PAGE_SIZE;
    return 0;
}

/// Source of the zeros `writeZeros` writes, a page per iovec.
var zero_page: [abi.PAGE_SIZE]u8 align(abi.PAGE_SIZE) = [_]u8{0} ** abi.PAGE_SIZE;
/// Pages per mincore call, and so most pages one pwritev of `writeZeros` writes.
const MINCORE_CHUNK_PAGES = 1024;

/// How a reset makes the dirty pages of one zygote read as zero.
const Cleaning = struct {
    slot: *Slot,
    /// Resident pages that may still be zeroed in place (kept allocated); the rest are freed.
    budget: usize,
    /// The mappings the zygote holds read-write, sorted (none when not known exactly).
    writable: slots.Mappings = .{},
    /// Ranges the zygote zeroes itself at its next command, with stores through its own page
    /// tables: no system call per range, and the pages stay mapped for the next user.
    zero: [abi.MAX_MEMOPS][2]u64 = undefined,
    zero_count: usize = 0,
    /// Pages of the memory memfd allocated before the reset (swapped-out ones included).
    allocated_pages: usize,
    /// Resident pages found in the mapped ranges.
    resident_pages: usize = 0,
    /// Runs mincore did not see resident, freed at the end unless they are known to be holes.
    holes: [16][2]u64 = undefined,
    hole_count: usize = 0,

    /// Makes [lo, hi) read as zero: resident pages are zeroed in place while the budget lasts;
    /// everything else is freed, including pages mincore() does not see as resident (holes, or
    /// swapped out: those at the end of the reset, unless nothing but resident pages is there).
    fn zeroOrDiscard(self: *Cleaning, lo: u64, hi: u64) void {
        const slot = self.slot;
        var vec: [MINCORE_CHUNK_PAGES]u8 = undefined;
        var chunk_start = lo;
        while (chunk_start < hi) {
            const chunk_len = @min(hi - chunk_start, vec.len * abi.PAGE_SIZE);
            if (sys.failed(linux.mincore(slot.memory.? + chunk_start, chunk_len, &vec))) return discard(slot, chunk_start, hi);
            const pages = chunk_len / abi.PAGE_SIZE;
            var i: usize = 0;
            while (i < pages) {
                const page = chunk_start + i * abi.PAGE_SIZE;
                var run: usize = 0;
                if (vec[i] & 1 == 0) {
                    while (i + run < pages and vec[i + run] & 1 == 0) run += 1;
                    self.noteHole(page, page + run * abi.PAGE_SIZE);
                } else if (self.budget == 0) {
                    while (i + run < pages and vec[i + run] & 1 == 1) run += 1;
                    discard(slot, page, page + run * abi.PAGE_SIZE);
                    self.resident_pages += run;
                } else {
                    while (i + run < pages and vec[i + run] & 1 == 1 and run < self.budget) run += 1;
                    const end = page + run * abi.PAGE_SIZE;
                    if (self.zeroInPlace(page, end)) {
                        slot.resident.note(page, end);
                    } else discard(slot, page, end);
                    self.resident_pages += run;
                    self.budget -= run;
                }
                i += run;
            }
            chunk_start += chunk_len;
        }
    }

    /// Keeps a run mincore did not see resident for later, or frees it now when the list is full.
    fn noteHole(self: *Cleaning, lo: u64, hi: u64) void {
        if (self.hole_count == self.holes.len) return discard(self.slot, lo, hi);
        self.holes[self.hole_count] = .{ lo, hi };
        self.hole_count += 1;
    }

    /// Zeroes resident pages [lo, hi) (at most one mincore chunk): the parts inside a mapping the
    /// zygote holds read-write are left to the zygote while its queue has room, the rest written
    /// through the memfd. False when a write failed.
    fn zeroInPlace(self: *Cleaning, lo: u64, hi: u64) bool {
        var cursor = lo;
        for (self.writable.list()) |m| {
            const from = @max(cursor, m.address);
            const to = @min(hi, m.address + m.length);
            if (from >= to or self.zero_count == self.zero.len) continue;
            if (from > cursor and !writeZeros(self.slot, cursor, from)) return false;
            self.zero[self.zero_count] = .{ from, to };
            self.zero_count += 1;
            cursor = to;
        }
        return cursor == hi or writeZeros(self.slot, cursor, hi);
    }
};

/// Overwrites [lo, hi) (at most one mincore chunk) of the memory memfd with zeros.
fn writeZeros(slot: *Slot, lo: u64, hi: u64) bool {
    const pages = (hi - lo) / abi.PAGE_SIZE;
    var iov: [MINCORE_CHUNK_PAGES]std.os.iovec_const = undefined;
    for (iov[0..pages]) |*v| v.* = .{ .iov_base = &zero_page, .iov_len = abi.PAGE_SIZE };
    const rc = linux.pwritev(slot.memory_fd, &iov, pages, @intCast(lo));
    return !sys.failed(rc) and rc == hi - lo;
}

/// Pages allocated in the memory memfd (one fstat), or the largest count when unknown.
fn allocatedPages(slot: *Slot) usize {
    var st: linux.Stat = undefined;
    if (sys.failed(linux.fstat(slot.memory_fd, &st))) return std.math.maxInt(usize);
    return @as(usize, @intCast(st.blocks)) * 512 / abi.PAGE_SIZE;
}

/// Frees every page of the memory memfd outside `extents` (sorted, disjoint): whatever a
/// misbehaving zygote may have written through aliases there is gone too.
fn discardOutside(slot: *Slot, extents: []const [2]u64) void {
    var cursor: u64 = 0;
    for (extents) |e| {
        if (e[0] > cursor) discardData(slot, cursor, e[0]);
        cursor = e[1];
    }
    if (cursor < GUEST_SPACE) discardData(slot, cursor, GUEST_SPACE);
}

/// Frees [lo, hi) if it holds any data; finding none (the usual case) costs one lseek, far
/// less than punching a hole over gigabytes of mappings.
fn discardData(slot: *Slot, lo: u64, hi: u64) void {
    const data = linux.lseek(slot.memory_fd, @intCast(lo), sys.SEEK_DATA);
    if (!sys.failed(data) and data < hi) discard(slot, data, hi);
}

/// Frees guest memory pages: they read back as zero everywhere they are mapped.
fn discard(slot: *Slot, lo: u64, hi: u64) void {
    _ = linux.fallocate(slot.memory_fd, sys.FALLOC_FL_PUNCH_HOLE | sys.FALLOC_FL_KEEP_SIZE, @intCast(lo), @intCast(hi - lo));
}
