//! Atomic output files that never clobber an input.
//!
//! Data goes to a temporary file in the destination's directory, which is
//! flushed, `fsync`ed and then renamed over the destination
//! (`NamedTempFile::persist`). Readers of the destination see either the
//! old file or the complete new one, never a partial file; if the process
//! dies or the write fails, the destination is untouched and the temporary
//! file is removed (except on a hard crash).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::error::IoError;

/// An output file being written; nothing appears at the destination until
/// [`AtomicFile::commit`]. Dropping it without committing discards the data.
pub struct AtomicFile {
    writer: BufWriter<NamedTempFile>,
    path: PathBuf,
}

impl AtomicFile {
    /// Starts writing `path`, after checking that it is none of `inputs`.
    ///
    /// `path` and each input are compared after resolving symlinks and `..`
    /// (`canonicalize`; for a destination that does not exist yet, its
    /// parent is resolved), and on Unix also by device and inode, which
    /// catches hard links. Inputs that do not exist are ignored.
    ///
    /// The final file gets mode `0o666` minus the umask (like `File::create`),
    /// not the `0o600` of temporary files.
    ///
    /// Errors: [`IoError::WouldOverwriteInput`], or [`IoError::Write`] if
    /// the temporary file cannot be created (e.g. missing directory).
    pub fn create<P: AsRef<Path>>(path: &Path, inputs: &[P]) -> Result<AtomicFile, IoError> {
        refuse_inputs(path, inputs)?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let prefix = format!(".{}.", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder.tempfile_in(dir).map_err(|e| write_err(path, e))?;
        Ok(AtomicFile { writer: BufWriter::with_capacity(1 << 20, temp), path: path.to_path_buf() })
    }

    /// The destination path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, `fsync`s and renames the data into place, then (on Unix)
    /// `fsync`s the directory so the rename itself is durable.
    ///
    /// Errors: [`IoError::Write`]; the destination is then unchanged and the
    /// temporary file removed.
    pub fn commit(self) -> Result<(), IoError> {
        let path = self.path;
        let temp = self.writer.into_inner().map_err(|e| write_err(&path, e.into_error()))?;
        temp.as_file().sync_all().map_err(|e| write_err(&path, e))?;
        temp.persist(&path).map_err(|e| write_err(&path, e.error))?;
        #[cfg(unix)]
        {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            File::open(dir).and_then(|d| d.sync_all()).map_err(|e| write_err(&path, e))?;
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Writes `bytes` to `path` atomically, refusing to replace any of
/// `inputs`; see [`AtomicFile::create`] and [`AtomicFile::commit`].
pub fn write_atomic<P: AsRef<Path>>(path: &Path, bytes: &[u8], inputs: &[P]) -> Result<(), IoError> {
    let mut file = AtomicFile::create(path, inputs)?;
    file.write_all(bytes).map_err(|e| write_err(path, e))?;
    file.commit()
}

fn write_err(path: &Path, source: io::Error) -> IoError {
    IoError::Write { file: path.to_path_buf(), source }
}

/// `path` resolved as far as possible: the canonical path if it exists,
/// else its canonical parent joined with its file name.
fn resolve(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(name))
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &Path, _: &Path) -> bool {
    false
}

fn refuse_inputs<P: AsRef<Path>>(path: &Path, inputs: &[P]) -> Result<(), IoError> {
    let out = resolve(path);
    for input in inputs {
        let input = input.as_ref();
        let clash = match (&out, input.canonicalize()) {
            (Some(out), Ok(inp)) => *out == inp,
            _ => false,
        } || same_file(path, input);
        if clash {
            return Err(IoError::WouldOverwriteInput { output: path.to_path_buf(), input: input.to_path_buf() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.vqt");
        write_atomic::<&Path>(&out, b"first", &[]).unwrap();
        write_atomic(&out, b"second", &[dir.path().join("other.npy")]).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"second");
        // No temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
            // Expect 0o666 minus the umask (read from /proc where available).
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            if let Some(umask) = status.lines().find_map(|l| l.strip_prefix("Umask:")) {
                let umask = u32::from_str_radix(umask.trim(), 8).unwrap();
                assert_eq!(mode, 0o666 & !umask, "mode {mode:o}");
            }
        }
    }

    #[test]
    fn refuses_to_overwrite_an_input() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("seg.npy");
        std::fs::write(&input, b"precious").unwrap();
        // The same file through a different spelling.
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let spelled = sub.join("..").join("seg.npy");
        for out in [input.clone(), spelled] {
            match write_atomic(&out, b"oops", &[&input]) {
                Err(e @ IoError::WouldOverwriteInput { .. }) => {
                    assert!(e.to_string().contains("seg.npy"), "{e}");
                }
                other => panic!("{other:?}"),
            }
        }
        #[cfg(unix)]
        {
            let link = dir.path().join("link.npy");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            assert!(matches!(write_atomic(&link, b"x", &[&input]), Err(IoError::WouldOverwriteInput { .. })));
            let hard = dir.path().join("hard.npy");
            std::fs::hard_link(&input, &hard).unwrap();
            assert!(matches!(write_atomic(&hard, b"x", &[&input]), Err(IoError::WouldOverwriteInput { .. })));
        }
        assert_eq!(std::fs::read(&input).unwrap(), b"precious");
    }

    #[test]
    fn uncommitted_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.npy");
        let mut f = AtomicFile::create::<&Path>(&out, &[]).unwrap();
        f.write_all(b"partial").unwrap();
        drop(f);
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn missing_directory_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("no/such/dir/out.npy");
        assert!(matches!(write_atomic::<&Path>(&out, b"x", &[]), Err(IoError::Write { .. })));
    }
}
