//! An export as given on the command line: a zip archive, or the folder it was unpacked to.
//!
//! Files are read as streams (a zip entry is inflated as it is read), never loaded whole. A
//! folder's files are those at its top level; a zip's, those in any of its folders (archivers
//! differ in whether they add one).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::plausible::Table;

/// Where the export's files are.
#[derive(Debug, Clone)]
pub enum Export {
    Zip(PathBuf),
    Dir(PathBuf),
}

/// One file of the export that holds a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name in the archive or folder.
    pub name: String,
    pub table: Table,
    /// Uncompressed bytes: what the progress bar counts.
    pub size: u64,
}

/// The export's table files (sorted by name) and the other files, which are not read.
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub ignored: Vec<String>,
}

impl Export {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        Ok(if meta.is_dir() {
            Self::Dir(path.to_owned())
        } else {
            Self::Zip(path.to_owned())
        })
    }

    pub fn list(&self) -> anyhow::Result<Listing> {
        let mut files: Vec<(String, u64)> = match self {
            Self::Dir(dir) => std::fs::read_dir(dir)
                .with_context(|| format!("{}", dir.display()))?
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| {
                    let size = e.metadata().map_or(0, |m| m.len());
                    (e.file_name().to_string_lossy().into_owned(), size)
                })
                .collect(),
            Self::Zip(path) => {
                let mut archive = zip_archive(path)?;
                let mut files = Vec::new();
                for i in 0..archive.len() {
                    let file = archive.by_index(i)?;
                    if file.is_file() {
                        files.push((file.name()?.into_owned(), file.size()));
                    }
                }
                files
            }
        };
        files.sort();
        let mut listing = Listing::default();
        for (name, size) in files {
            match Table::of_file(&name) {
                Some(table) => listing.entries.push(Entry { name, table, size }),
                None => listing.ignored.push(name),
            }
        }
        Ok(listing)
    }

    /// Runs `read` over the bytes of `entry`.
    pub fn read<T>(
        &self,
        entry: &Entry,
        read: impl FnOnce(&mut dyn Read) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        match self {
            Self::Dir(dir) => {
                let path = dir.join(&entry.name);
                let file = File::open(&path).with_context(|| format!("{}", path.display()))?;
                read(&mut BufReader::new(file))
            }
            Self::Zip(path) => {
                let mut archive = zip_archive(path)?;
                let mut file = archive.by_name(&entry.name)?;
                read(&mut file)
            }
        }
    }
}

fn zip_archive(path: &Path) -> anyhow::Result<zip::ZipArchive<BufReader<File>>> {
    let file = File::open(path).with_context(|| format!("{}", path.display()))?;
    zip::ZipArchive::new(BufReader::new(file))
        .with_context(|| format!("{} is neither a folder nor a zip archive", path.display()))
}
