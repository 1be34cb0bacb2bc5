//! The trace file's reads and writes, past the kernel's page cache where the file system allows
//! it (Linux's `O_DIRECT`).
//!
//! Why: a streamed run writes its trace once and reads it back once, in its summary. Through the
//! page cache, every new page of the file costs the kernel a page of its cache first; on the
//! machines this simulator is benchmarked on that is about 8 ms of system time per megabyte
//! written (120 MB/s, against 2.4 GB/s direct), which at 2,000 replications of the status quo
//! (100 MB of trace) was 5% of the run's processor time, taken from the simulation's two cores.
//! Direct transfers skip the cache; their offsets, lengths and memory must then be multiples of
//! [`ALIGN`], so each block of the trace file is padded to a multiple of it (at most 4 KB per
//! block of 256 replications).
//!
//! Where the file system refuses direct transfers (tmpfs, some network file systems, other
//! operating systems), the same bytes go through the page cache: the file is the same either way,
//! and so are the results.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Alignment of direct transfers: offsets, lengths and buffers are multiples of it.
pub const ALIGN: usize = 4096;

/// `bytes` rounded up to a multiple of [`ALIGN`].
pub fn padded(bytes: usize) -> usize {
    bytes.div_ceil(ALIGN) * ALIGN
}

/// The first `len` bytes of `buf` from an [`ALIGN`] boundary: `buf` grows to hold them and the
/// boundary's offset (its old contents are not kept).
pub fn aligned_mut(buf: &mut Vec<u8>, len: usize) -> &mut [u8] {
    buf.clear();
    buf.resize(len + ALIGN, 0);
    let start = buf.as_ptr().align_offset(ALIGN).min(ALIGN);
    &mut buf[start..start + len]
}

/// Opens `path` with direct transfers, for appending (`append`) or reading, or `None` where the
/// file system or the operating system does not offer them.
fn open_direct(path: &Path, append: bool) -> Option<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut options = OpenOptions::new();
        if append {
            options.append(true);
        } else {
            options.read(true);
        }
        options.custom_flags(libc::O_DIRECT).open(path).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (path, append);
        None
    }
}

/// Whether `e` is a file system's refusal of a direct transfer.
fn refused(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::InvalidInput
}

/// A file appended to in blocks of multiples of [`ALIGN`] bytes from aligned buffers, directly
/// where the file system allows it, through the page cache otherwise.
pub struct AppendFile {
    buffered: File,
    direct: Option<File>,
}

impl AppendFile {
    /// Opens `path` (which exists) for appending; `direct` asks for direct transfers.
    pub fn open(path: &Path, direct: bool) -> std::io::Result<AppendFile> {
        let buffered = OpenOptions::new().append(true).open(path)?;
        let direct = if direct {
            open_direct(path, true)
        } else {
            None
        };
        Ok(AppendFile { buffered, direct })
    }

    /// Whether the bytes written so far went past the page cache.
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// Appends `bytes` (from [`aligned_mut`], a multiple of [`ALIGN`] long when direct) and
    /// waits until they are on disk. A direct transfer the file system refuses is made again
    /// through the page cache, from where it stopped, and so is every later one.
    pub fn append_synced(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut done = 0;
        if let Some(direct) = &mut self.direct {
            while done < bytes.len() {
                match direct.write(&bytes[done..]) {
                    Ok(0) => return Err(ErrorKind::WriteZero.into()),
                    Ok(n) => done += n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if refused(&e) => {
                        self.direct = None;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        match &mut self.direct {
            Some(direct) => direct.sync_data(),
            None => {
                self.buffered.write_all(&bytes[done..])?;
                self.buffered.sync_data()
            }
        }
    }
}

/// A file read at given offsets, directly (aligned reads into a buffer of its own, from which
/// the bytes asked for are copied) where the file system allows it, through the page cache
/// otherwise.
pub struct ReadFile {
    buffered: File,
    direct: Option<File>,
    scratch: Vec<u8>,
}

impl ReadFile {
    /// Opens `path` for reading; `direct` asks for direct transfers.
    pub fn open(path: &Path, direct: bool) -> std::io::Result<ReadFile> {
        let buffered = File::open(path)?;
        let direct = if direct {
            open_direct(path, false)
        } else {
            None
        };
        Ok(ReadFile {
            buffered,
            direct,
            scratch: Vec::new(),
        })
    }

    /// Fills `out` with the bytes of the file from `offset`; a file that ends before is an
    /// error ([`ErrorKind::UnexpectedEof`]).
    pub fn read_exact_at(&mut self, out: &mut [u8], offset: u64) -> std::io::Result<()> {
        if let Some(direct) = &self.direct {
            let start = offset / ALIGN as u64 * ALIGN as u64;
            let skip = (offset - start) as usize;
            let buf = aligned_mut(&mut self.scratch, padded(skip + out.len()));
            match read_up_to(direct, buf, start) {
                Ok(n) if n >= skip + out.len() => {
                    out.copy_from_slice(&buf[skip..skip + out.len()]);
                    return Ok(());
                }
                Ok(_) => return Err(ErrorKind::UnexpectedEof.into()),
                Err(e) if refused(&e) => self.direct = None,
                Err(e) => return Err(e),
            }
        }
        let mut file = &self.buffered;
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(out)
    }
}

/// Reads into `buf` from `offset` until it is full or the file ends; the bytes read.
fn read_up_to(mut file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    file.seek(SeekFrom::Start(offset))?;
    let mut done = 0;
    while done < buf.len() {
        match file.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buffers_start_on_a_boundary() {
        let mut buf = Vec::new();
        for len in [0, 1, ALIGN, 3 * ALIGN + 5] {
            let b = aligned_mut(&mut buf, len);
            assert_eq!(b.len(), len);
            assert_eq!(b.as_ptr() as usize % ALIGN, 0, "{len}");
        }
        assert_eq!((padded(0), padded(1), padded(ALIGN)), (0, ALIGN, ALIGN));
    }

    /// Blocks appended directly (where the temporary folder's file system allows it) or through
    /// the page cache read back at any offset and length, either way; past the end is an error.
    #[test]
    fn appended_blocks_read_back_at_any_offset() {
        for direct in [true, false] {
            appended_blocks_read_back(direct);
        }
    }

    /// A direct transfer the file system refuses (here a length that is not a multiple of the
    /// alignment, which Linux refuses on every file system that takes direct transfers) is made
    /// through the page cache, and so is every later one; the file holds every byte once.
    #[test]
    fn a_refused_direct_append_goes_through_the_page_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("refused.bin");
        File::create(&path).expect("create");
        let mut file = AppendFile::open(&path, true).expect("open");
        let direct = file.is_direct();
        let mut buf = Vec::new();
        let bytes = aligned_mut(&mut buf, ALIGN + 100);
        for (k, b) in bytes.iter_mut().enumerate() {
            *b = (k % 7) as u8;
        }
        let expected = bytes.to_vec();
        file.append_synced(bytes).expect("append");
        file.append_synced(&expected[..3]).expect("append");
        assert!(
            !file.is_direct(),
            "refused, so through the cache (direct at first: {direct})"
        );
        let mut all = expected.clone();
        all.extend_from_slice(&expected[..3]);
        assert_eq!(std::fs::read(&path).expect("read"), all);
    }

    fn appended_blocks_read_back(direct_writes: bool) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("blocks.bin");
        File::create(&path).expect("create");
        let mut file = AppendFile::open(&path, direct_writes).expect("open");
        let mut buf = Vec::new();
        let mut expected = Vec::new();
        for block in 0..3u8 {
            let bytes = aligned_mut(&mut buf, 2 * ALIGN);
            for (k, b) in bytes.iter_mut().enumerate() {
                *b = (k % 251) as u8 ^ block;
            }
            expected.extend_from_slice(bytes);
            file.append_synced(bytes).expect("append");
        }
        assert_eq!(std::fs::read(&path).expect("read"), expected);
        for direct in [true, false] {
            let mut reader = ReadFile::open(&path, direct).expect("open");
            for (offset, len) in [
                (0, 10),
                (5, ALIGN),
                (ALIGN - 1, 2),
                (3 * ALIGN + 7, 2 * ALIGN),
            ] {
                let mut out = vec![0; len];
                reader.read_exact_at(&mut out, offset as u64).expect("read");
                assert_eq!(
                    out,
                    expected[offset..offset + len],
                    "{offset} {len} {direct}"
                );
            }
            let mut out = vec![0; 2];
            let past = reader.read_exact_at(&mut out, (6 * ALIGN - 1) as u64);
            assert_eq!(past.map_err(|e| e.kind()), Err(ErrorKind::UnexpectedEof));
        }
    }
}
