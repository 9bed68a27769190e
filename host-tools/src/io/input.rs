//! Opening inputs safely, and the identities of everything a command reads.
//!
//! * [`open_regular`] opens a file only if it is a regular file: a FIFO, device
//!   or socket is refused from its metadata, before opening (opening a FIFO for
//!   reading blocks until a writer appears), and the file is opened
//!   non-blocking and checked again, so a path swapped in between cannot make
//!   it block either.
//! * `-` ([`STDIN`]) names standard input where a command accepts it;
//!   [`read_capped`] reads a whole (small) file or standard input.
//! * [`InputSet`] collects the identity (device and inode, and canonical path)
//!   of every file a command reads, whichever way it was reached (directly,
//!   as a folder member, through a symlink or a hard link), so that an output
//!   can be refused when it is any of them.

use std::fs::{File, Metadata};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::error::IoError;

/// The argument that means standard input (for an input) or standard output
/// (for an output).
pub const STDIN: &str = "-";

/// Whether `path` is the argument `-`.
pub fn is_dash(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// What a non-regular, non-folder file is, for messages (`a FIFO`, ...).
pub fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symlink"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a file"
    }
}

/// Opens `path` for reading if it is a regular file (symlinks followed).
///
/// Errors: [`IoError::Read`] if it does not exist or cannot be opened,
/// [`IoError::NotAFile`] for a folder, FIFO, device or socket (never opened,
/// so this never blocks).
pub fn open_regular(path: &Path) -> Result<(File, Metadata), IoError> {
    let read_err = |e| IoError::Read { file: path.to_path_buf(), source: e };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() {
        return Err(IoError::NotAFile { file: path.to_path_buf(), kind: kind_of(&meta) });
    }
    // Non-blocking: if the path was replaced by a FIFO since the check above,
    // opening does not wait for a writer; the check below then refuses it.
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(IoError::NotAFile { file: path.to_path_buf(), kind: kind_of(&meta) });
    }
    Ok((file, meta))
}

/// Reads `path` whole (or standard input for `-`), refusing more than `cap`
/// bytes; `what` names the expected content in the error (e.g. `vqtans
/// stream`).
///
/// Errors: those of [`open_regular`]; [`IoError::Read`] when the content is
/// larger than `cap` or cannot be read.
pub fn read_capped(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>, IoError> {
    let too_large = || IoError::Read {
        file: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, format!("too large to be a {what}")),
    };
    let read_err = |e| IoError::Read { file: path.to_path_buf(), source: e };
    let mut bytes = Vec::new();
    if is_dash(path) {
        std::io::stdin().lock().take(cap + 1).read_to_end(&mut bytes).map_err(read_err)?;
    } else {
        let (file, meta) = open_regular(path)?;
        if meta.len() > cap {
            return Err(too_large());
        }
        file.take(cap + 1).read_to_end(&mut bytes).map_err(read_err)?;
    }
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Device and inode: what makes two paths the same file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of a file from its metadata.
    pub fn of(meta: &Metadata) -> FileId {
        FileId { dev: meta.dev(), ino: meta.ino() }
    }
}

/// One input file: how it was named, what it is.
#[derive(Debug, Clone)]
struct Member {
    named: PathBuf,
    id: FileId,
    canonical: Option<PathBuf>,
}

/// The files a command reads, by identity.
#[derive(Debug, Clone, Default)]
pub struct InputSet {
    members: Vec<Member>,
}

impl InputSet {
    /// An empty set.
    pub fn new() -> InputSet {
        InputSet::default()
    }

    /// Adds the file at `path` (symlinks followed); for `-`, the file standard
    /// input is redirected from, if it is a regular file. Paths that do not
    /// exist are ignored here (reading them reports the error); so are
    /// non-regular files, which are never read.
    pub fn add(&mut self, path: &Path) {
        if is_dash(path) {
            let stdin = std::io::stdin().as_fd().try_clone_to_owned().map(File::from);
            if let Ok(meta) = stdin.and_then(|f| f.metadata()) {
                if meta.is_file() {
                    let named = PathBuf::from("standard input");
                    self.members.push(Member { named, id: FileId::of(&meta), canonical: None });
                }
            }
            return;
        }
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.is_file() {
                self.members.push(Member {
                    named: path.to_path_buf(),
                    id: FileId::of(&meta),
                    canonical: path.canonicalize().ok(),
                });
            }
        }
    }

    /// Adds every path of `paths`.
    pub fn extend<P: AsRef<Path>>(&mut self, paths: impl IntoIterator<Item = P>) {
        for p in paths {
            self.add(p.as_ref());
        }
    }

    /// The input that the existing file `target` (metadata `meta`, canonical
    /// path `canonical`) is, if any.
    pub fn find(&self, meta: &Metadata, canonical: Option<&Path>) -> Option<&Path> {
        let id = FileId::of(meta);
        self.members
            .iter()
            .find(|m| m.id == id || (canonical.is_some() && m.canonical.as_deref() == canonical))
            .map(|m| m.named.as_path())
    }

    /// Fails with [`IoError::WouldOverwriteInput`] if `target` exists and is
    /// one of the inputs; `output` is the output as the user named it.
    pub fn refuse(&self, output: &Path, target: &Path) -> Result<(), IoError> {
        let Ok(meta) = std::fs::metadata(target) else { return Ok(()) };
        let canonical = target.canonicalize().ok();
        match self.find(&meta, canonical.as_deref()) {
            Some(input) => {
                Err(IoError::WouldOverwriteInput { output: output.to_path_buf(), input: input.to_path_buf() })
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f.npy");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        match open_regular(&fifo) {
            Err(IoError::NotAFile { kind: "a FIFO", .. }) => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(read_capped(&fifo, 10, "x"), Err(IoError::NotAFile { .. })));
        assert!(matches!(open_regular(dir.path()), Err(IoError::NotAFile { kind: "a folder", .. })));
    }

    #[test]
    fn identities_catch_links_and_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("seg.npy");
        std::fs::write(&input, b"x").unwrap();
        let mut set = InputSet::new();
        set.add(&input);
        let hard = dir.path().join("hard.npy");
        std::fs::hard_link(&input, &hard).unwrap();
        let soft = dir.path().join("soft.npy");
        std::os::unix::fs::symlink(&input, &soft).unwrap();
        let spelled = dir.path().join(".").join("seg.npy");
        for out in [&input, &hard, &soft, &spelled] {
            assert!(matches!(set.refuse(out, out), Err(IoError::WouldOverwriteInput { .. })), "{}", out.display());
        }
        let other = dir.path().join("other.npy");
        assert!(set.refuse(&other, &other).is_ok());
        std::fs::write(&other, b"y").unwrap();
        assert!(set.refuse(&other, &other).is_ok());
    }
}
