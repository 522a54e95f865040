//! The zygote's side of the VmCtx page: where it is, publishing reports, start-up failures.

const std = @import("std");
const linux = std.os.linux;
const abi = @import("abi.zig");

/// The VmCtx page, mapped at its fixed address during start-up.
pub const vm: *abi.VmCtx = @ptrFromInt(abi.VMCTX_ADDR);

/// Stores a REPORT_* and wakes the host if it sleeps.
pub fn publish(report: u32) void {
    vm.counter_commands +%= 1;
    @atomicStore(u32, &vm.state, report, .SeqCst);
    if (@atomicLoad(u32, &vm.host_sleeping, .SeqCst) != 0) {
        _ = linux.futex_wake(@ptrCast(&vm.state), linux.FUTEX.WAKE, 1);
    }
}

/// Reports a start-up failure (step and errno in VmCtx.message) and exits.
pub fn fail(comptime step: []const u8, rc: usize) noreturn {
    failWith(step, @intFromEnum(linux.getErrno(rc)));
}

/// Reports a start-up failure at `step` with `errno` and exits.
pub fn failWith(comptime step: []const u8, errno: u32) noreturn {
    var buf: [@typeInfo(@TypeOf(vm.message)).Array.len]u8 = undefined;
    const text = std.fmt.bufPrint(&buf, "zygote start-up failed at {s}: errno {d}", .{ step, errno }) catch "zygote start-up failed";
    for (text, 0..) |c, i| vm.message[i] = c;
    vm.message[text.len] = 0;
    vm.error_errno = errno;
    publish(abi.REPORT_ERROR);
    linux.exit_group(2);
}

/// Fails start-up at `step` if the raw syscall result `rc` is an error.
pub fn check(comptime step: []const u8, rc: usize) void {
    if (linux.getErrno(rc) != .SUCCESS) fail(step, rc);
}
