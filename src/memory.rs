//! Giving freed memory back to the system at the points where a run frees a lot of it.
//!
//! glibc's allocator keeps freed memory in the arena of the thread that allocated it. A run
//! allocates its calls on the scoring threads and frees them on the fold thread (after a sort
//! run is spilled) and allocates the tables on a writer thread, so memory freed in one arena
//! is not reused by the next phase and the peak becomes the sum of the phases' high-water
//! marks. `malloc_trim` returns the free pages of every arena: at 1 GB of calls the peak RSS
//! fell from about 225 MB to about 185 MB (`bench/RESULTS.md`).

/// Returns the allocator's free pages to the system (a no-op off glibc).
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim takes no pointers and only gives free pages back to the kernel;
        // it is part of the glibc that Rust's std links on this target.
        unsafe {
            malloc_trim(0);
        }
    }
}
