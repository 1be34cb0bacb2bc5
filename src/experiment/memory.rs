//! How the process's memory allocator keeps what a replication frees.
//!
//! Why: a replication's world is allocated when it starts and freed when it ends. Under glibc's
//! defaults, arrays above the allocator's threshold (128 KB, rising with the largest freed) are
//! mapped from the kernel and unmapped when freed, and the top of the heap is given back past
//! 128 KB: the next replication's world then takes every page from the kernel again, zeroed, a
//! page fault each. At 100,000 States (a world of about 300 MB with its factual copy) that was
//! most of a replication's start: World::new, the first year's arrivals and the factual start
//! took about 160 ms per replication, 66 ms with the memory kept (timed per phase over six
//! replications, the first excluded). At the 193 States of the status quo the arrays are small
//! enough that the allocator keeps them already: no change in speed there.
//!
//! The settings change where memory comes from, never what is computed: results are the same.

/// Asks the allocator to keep freed memory for reuse: arrays of up to 32 MB (glibc's largest
/// threshold) come from the heap rather than their own mappings, and the heap is trimmed only
/// past 2 GB free at its top.
/// Call it first, before any other thread starts. On other C libraries, and on 32-bit
/// processors (where glibc's largest threshold is 512 KB), it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    // SAFETY: mallopt sets two parameters of glibc's allocator and touches no memory of ours;
    // glibc takes its own lock for it. The values are within the documented ranges on 64-bit
    // glibc (the threshold at its maximum there, HEAP_MAX_SIZE / 2).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
