//! What this host offers the market: CPU cores, memory and NVIDIA GPUs (`stratus-worker init`),
//! grouped into the GPU classes and the capability profile the provider registers.
//!
//! GPUs are found through the CUDA driver API, loaded dynamically: on a host without an NVIDIA
//! driver the list is simply empty.

use std::panic::{self, AssertUnwindSafe};

use cudarc::driver::{result, sys, DriverError};
use serde::Serialize;
use sp_core::bounded::BoundedVec;
use stratus_primitives::{CapabilityProfile, GpuSpec, JobKind};

use crate::config::Config;

const MIB: u64 = 1_048_576;

/// One NVIDIA GPU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GpuInfo {
	/// The CUDA device ordinal (what a job runs on).
	pub ordinal: u32,
	/// The model, e.g. "NVIDIA H100 80GB HBM3".
	pub name: String,
	/// Total device memory, MiB.
	pub vram_mib: u64,
	/// Compute capability, major (9 for Hopper).
	pub compute_major: u32,
	/// Compute capability, minor.
	pub compute_minor: u32,
	/// The NVIDIA kernel driver's version, e.g. "550.54.15", when the host tells it.
	pub driver_version: Option<String>,
	/// The newest CUDA version the driver supports, major.
	pub cuda_major: u32,
	/// The newest CUDA version the driver supports, minor.
	pub cuda_minor: u32,
	/// The GPU can read and write the host's pageable memory directly
	/// (`CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS`: Linux HMM with the open kernel modules, ATS
	/// on Grace Hopper). A kernel could then reach any memory of the process that runs it, so the
	/// worker does not offer such a GPU ([`crate::commands::gpu_classes`]).
	pub pageable_memory_access: bool,
}

/// This host's resources.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostInfo {
	/// Logical CPU cores this process may use.
	pub cpu_cores: u32,
	/// Total memory, MiB (0 when unknown).
	pub memory_mib: u64,
	/// The GPUs, in ordinal order; empty without GPUs or driver.
	pub gpus: Vec<GpuInfo>,
	/// WASM units this host runs per second on the executor's calibration program
	/// (`executor::wasm::measure_unit_rate`); `None` when it could not run.
	pub wasm_units_per_second: Option<u64>,
}

/// Why no GPU list could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuProbeError {
	/// `libcuda` cannot be loaded: no NVIDIA driver.
	#[error("no CUDA driver (libcuda) on this host")]
	NoDriver,
	/// The driver is there but refused a query.
	#[error("the CUDA driver failed: {0}")]
	Driver(String),
}

/// CPU cores, memory and GPUs; the WASM unit rate is left unmeasured ([`detect_and_measure`]).
pub fn detect() -> HostInfo {
	HostInfo {
		cpu_cores: cpu_cores(),
		memory_mib: memory_mib(),
		gpus: detect_gpus(),
		wasm_units_per_second: None,
	}
}

/// [`detect`], and the WASM unit rate measured (for about a third of a second): what
/// `stratus-worker detect` prints and `init` writes.
pub fn detect_and_measure() -> HostInfo {
	let rate = crate::executor::wasm::measure_unit_rate(std::time::Duration::from_millis(300));
	if let Err(error) = &rate {
		tracing::warn!("could not measure the WASM unit rate: {error}");
	}
	HostInfo { wasm_units_per_second: rate.ok(), ..detect() }
}

/// Raises this process's soft limit of open files to at least `wanted` (as far as the hard limit
/// allows), so that idle connections to the result server cannot starve the worker of file
/// descriptors. Returns the soft limit in force afterwards (`None`: it could not be read).
pub fn raise_open_files_limit(wanted: u64) -> Option<u64> {
	use nix::sys::resource::{getrlimit, setrlimit, Resource};
	let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
	let target = wanted.min(hard);
	if soft >= target {
		return Some(soft);
	}
	match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
		Ok(()) => Some(target),
		Err(e) => {
			tracing::warn!("cannot raise the open-files limit from {soft} to {target}: {e}");
			Some(soft)
		},
	}
}

/// Logical CPU cores available to this process (at least 1).
pub fn cpu_cores() -> u32 {
	std::thread::available_parallelism().ok().and_then(|n| u32::try_from(n.get()).ok()).unwrap_or(1)
}

/// Total memory in MiB from `/proc/meminfo`; 0 when it cannot be read.
pub fn memory_mib() -> u64 {
	std::fs::read_to_string("/proc/meminfo")
		.ok()
		.and_then(|text| parse_meminfo_total_mib(&text))
		.unwrap_or(0)
}

/// `MemTotal` of a `/proc/meminfo` text, in MiB.
pub fn parse_meminfo_total_mib(meminfo: &str) -> Option<u64> {
	let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
	let mut words = line.split_whitespace().skip(1);
	let value: u64 = words.next()?.parse().ok()?;
	let bytes = match words.next() {
		Some("kB") | Some("KB") | Some("kiB") => value.checked_mul(1024)?,
		None | Some("B") => value,
		Some(_) => return None,
	};
	bytes.checked_div(MIB)
}

/// The GPUs; empty when there is no driver or it fails.
pub fn detect_gpus() -> Vec<GpuInfo> {
	probe_gpus().unwrap_or_default()
}

/// The GPUs, or why they could not be listed. A driver that finds no device is an empty list.
pub fn probe_gpus() -> Result<Vec<GpuInfo>, GpuProbeError> {
	if !crate::executor::cuda::driver_present() {
		return Err(GpuProbeError::NoDriver);
	}
	// cudarc panics on a symbol the driver lacks.
	panic::catch_unwind(AssertUnwindSafe(probe_driver)).unwrap_or_else(|payload| {
		Err(GpuProbeError::Driver(crate::executor::cuda::panic_message(payload.as_ref())))
	})
}

fn driver_error(what: &str) -> impl Fn(DriverError) -> GpuProbeError + '_ {
	move |e| GpuProbeError::Driver(format!("{what}: {:?}", e.0))
}

fn probe_driver() -> Result<Vec<GpuInfo>, GpuProbeError> {
	match result::init() {
		Ok(()) => {},
		Err(DriverError(sys::CUresult::CUDA_ERROR_NO_DEVICE)) => return Ok(Vec::new()),
		Err(e) => return Err(driver_error("cuInit")(e)),
	}
	let count = result::device::get_count().map_err(driver_error("cuDeviceGetCount"))?;
	let (cuda_major, cuda_minor) = cuda_version()?;
	let driver_version = nvidia_driver_version();
	let mut gpus = Vec::new();
	for ordinal in 0..count {
		let device = result::device::get(ordinal).map_err(driver_error("cuDeviceGet"))?;
		let name = result::device::get_name(device).map_err(driver_error("cuDeviceGetName"))?;
		// SAFETY: `device` came from `cuDeviceGet`.
		let total = unsafe { result::device::total_mem(device) }
			.map_err(driver_error("cuDeviceTotalMem"))?;
		let attribute = |attribute: sys::CUdevice_attribute| {
			// SAFETY: `device` came from `cuDeviceGet`.
			unsafe { result::device::get_attribute(device, attribute) }
				.map_err(driver_error("cuDeviceGetAttribute"))
				.map(|v| u32::try_from(v).unwrap_or(0))
		};
		gpus.push(GpuInfo {
			ordinal: u32::try_from(ordinal).unwrap_or(0),
			name: name.trim().to_owned(),
			vram_mib: u64::try_from(total).unwrap_or(u64::MAX).checked_div(MIB).unwrap_or(0),
			compute_major: attribute(
				sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
			)?,
			compute_minor: attribute(
				sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
			)?,
			driver_version: driver_version.clone(),
			cuda_major,
			cuda_minor,
			pageable_memory_access: attribute(
				sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS,
			)? != 0,
		});
	}
	Ok(gpus)
}

/// The CUDA version the driver supports, as (major, minor).
fn cuda_version() -> Result<(u32, u32), GpuProbeError> {
	let mut version: std::ffi::c_int = 0;
	// SAFETY: the driver writes one int.
	unsafe { sys::cuDriverGetVersion(&mut version) }
		.result()
		.map_err(driver_error("cuDriverGetVersion"))?;
	Ok(split_cuda_version(version))
}

/// `12040` → `(12, 4)`.
pub fn split_cuda_version(version: i32) -> (u32, u32) {
	let version = u32::try_from(version).unwrap_or(0);
	let major = version.checked_div(1000).unwrap_or(0);
	let minor = version.checked_rem(1000).and_then(|v| v.checked_div(10)).unwrap_or(0);
	(major, minor)
}

/// The NVIDIA kernel module's version, from `/sys/module/nvidia/version` or
/// `/proc/driver/nvidia/version`.
pub fn nvidia_driver_version() -> Option<String> {
	if let Ok(text) = std::fs::read_to_string("/sys/module/nvidia/version") {
		let version = text.trim();
		if is_version(version) {
			return Some(version.to_owned());
		}
	}
	let text = std::fs::read_to_string("/proc/driver/nvidia/version").ok()?;
	parse_nvidia_proc_version(&text)
}

/// The version in `/proc/driver/nvidia/version`'s `NVRM version:` line.
pub fn parse_nvidia_proc_version(text: &str) -> Option<String> {
	let line = text.lines().find(|line| line.starts_with("NVRM version:"))?;
	line.split_whitespace().find(|word| is_version(word)).map(str::to_owned)
}

/// `550.54.15`, `535.104.05`: dot-separated numbers, at least two.
fn is_version(word: &str) -> bool {
	let parts: Vec<&str> = word.split('.').collect();
	parts.len() >= 2 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// This host's GPUs grouped into the profile's GPU classes (identical model, VRAM and compute
/// capability): each class's spec and the CUDA ordinals of its devices. An offer for
/// `ResourceClass::Gpu(i)` runs on the devices of class `i`. A GPU that can access the host's
/// pageable memory ([`crate::host::GpuInfo::pageable_memory_access`]) is left out: a job's kernel
/// could read the worker's memory through it, so it serves no jobs.
pub fn gpu_classes(host: &HostInfo) -> Vec<(GpuSpec, Vec<u32>)> {
	let mut classes: Vec<(GpuSpec, Vec<u32>)> = Vec::new();
	for gpu in host.gpus.iter().filter(|gpu| !gpu.pageable_memory_access) {
		let model: Vec<u8> =
			gpu.name.bytes().take(stratus_primitives::MAX_GPU_MODEL_LEN as usize).collect();
		let vram_mib = u32::try_from(gpu.vram_mib).unwrap_or(u32::MAX);
		let compute_capability =
			u16::try_from(gpu.compute_major.saturating_mul(10).saturating_add(gpu.compute_minor))
				.unwrap_or(u16::MAX);
		if let Some((spec, ordinals)) = classes.iter_mut().find(|(c, _)| {
			*c.model == model
				&& c.vram_mib == vram_mib
				&& c.compute_capability == compute_capability
		}) {
			spec.count = spec.count.saturating_add(1);
			ordinals.push(gpu.ordinal);
			continue;
		}
		let driver_version = gpu
			.driver_version
			.as_deref()
			.and_then(|v| {
				let mut parts = v.split('.');
				let major: u32 = parts.next()?.parse().ok()?;
				let minor: u32 = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
				Some(major.saturating_mul(100).saturating_add(minor))
			})
			.unwrap_or(0);
		let spec = GpuSpec {
			model: BoundedVec::truncate_from(model),
			vram_mib,
			compute_capability,
			driver_version,
			cuda_version: gpu
				.cuda_major
				.saturating_mul(1000)
				.saturating_add(gpu.cuda_minor.saturating_mul(10)),
			count: 1,
		};
		classes.push((spec, vec![gpu.ordinal]));
	}
	classes.truncate(stratus_primitives::MAX_GPU_CLASSES as usize);
	classes
}

/// The capability profile this host registers: detected GPUs, the config's cores, memory, region
/// and result URL.
pub fn profile(config: &Config, host: &HostInfo) -> CapabilityProfile {
	let mut kinds = vec![JobKind::Wasm];
	if !host.gpus.is_empty() {
		kinds.push(JobKind::Cuda);
	}
	let gpus = gpu_classes(host).into_iter().map(|(spec, _)| spec).collect();
	let url = &config.results.public_url;
	CapabilityProfile {
		kinds: BoundedVec::truncate_from(kinds),
		gpus: BoundedVec::truncate_from(gpus),
		cpu_cores: config.worker.cpu_cores,
		memory_mib: config.worker.memory_mib,
		region: config.worker.region,
		endpoint: (!url.is_empty()).then(|| BoundedVec::truncate_from(url.as_bytes().to_vec())),
	}
}

/// A Hopper GPU as the driver would describe it, for tests.
#[cfg(test)]
pub(crate) fn test_gpu(ordinal: u32, name: &str, vram_mib: u64) -> GpuInfo {
	GpuInfo {
		ordinal,
		name: name.into(),
		vram_mib,
		compute_major: 9,
		compute_minor: 0,
		driver_version: Some("550.54.15".into()),
		cuda_major: 12,
		cuda_minor: 4,
		pageable_memory_access: false,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn meminfo_total_is_read_in_mib() {
		let text = "MemTotal:       131891724 kB\nMemFree:        1000 kB\n";
		assert_eq!(parse_meminfo_total_mib(text), Some(128_800));
		assert_eq!(parse_meminfo_total_mib("MemFree: 10 kB\n"), None);
		assert_eq!(parse_meminfo_total_mib("MemTotal: lots kB\n"), None);
		assert_eq!(parse_meminfo_total_mib("MemTotal: 10 parsecs\n"), None);
	}

	#[test]
	fn nvidia_driver_versions_are_parsed() {
		let proprietary = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 \
		                   01:15:15 UTC 2023\nGCC version:  gcc version 12.2.0\n";
		assert_eq!(parse_nvidia_proc_version(proprietary).as_deref(), Some("535.104.05"));
		let open = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.15  Release \
		            Build  (dvs-builder@U16-I3-B03-4-3)  Tue Mar  5 22:15:33 UTC 2024\n";
		assert_eq!(parse_nvidia_proc_version(open).as_deref(), Some("550.54.15"));
		assert_eq!(parse_nvidia_proc_version("GCC version: 12.2\n"), None);
		assert!(!is_version("x86_64") && !is_version("12") && !is_version("1..2"));
	}

	#[test]
	fn cuda_versions_split() {
		assert_eq!(split_cuda_version(12040), (12, 4));
		assert_eq!(split_cuda_version(11080), (11, 8));
		assert_eq!(split_cuda_version(13000), (13, 0));
		assert_eq!(split_cuda_version(-1), (0, 0));
	}

	#[test]
	fn this_host_has_cores_and_memory() {
		let host = detect_and_measure();
		assert!(host.cpu_cores >= 1);
		assert!(host.wasm_units_per_second.is_some_and(|rate| rate > 0));
		assert_eq!(detect().wasm_units_per_second, None);
		if cfg!(target_os = "linux") {
			assert!(host.memory_mib > 0);
		}
	}

	#[test]
	fn without_a_driver_there_are_no_gpus() {
		if crate::executor::cuda::driver_present() {
			// A GPU host: `cuda_gpu` (ignored) tests cover detection there.
			return;
		}
		assert_eq!(probe_gpus(), Err(GpuProbeError::NoDriver));
		assert!(detect_gpus().is_empty());
		assert!(detect().gpus.is_empty());
	}

	use super::test_gpu as gpu;

	#[test]
	fn identical_gpus_form_one_class_with_their_ordinals() {
		let host = HostInfo {
			cpu_cores: 16,
			memory_mib: 1 << 17,
			gpus: vec![
				gpu(0, "NVIDIA H100", 81_559),
				gpu(1, "NVIDIA L4", 23_034),
				gpu(2, "NVIDIA H100", 81_559),
			],
			wasm_units_per_second: None,
		};
		let classes = gpu_classes(&host);
		assert_eq!(classes.len(), 2);
		assert_eq!(classes[0].1, vec![0, 2]);
		assert_eq!(classes[0].0.count, 2);
		assert_eq!(classes[0].0.compute_capability, 90);
		assert_eq!(classes[0].0.driver_version, 55_054);
		assert_eq!(classes[0].0.cuda_version, 12_040);
		assert_eq!(classes[1].1, vec![1]);
	}

	/// A GPU that can reach the host's pageable memory (HMM, ATS) is not offered; the others of
	/// its model still are.
	#[test]
	fn gpus_with_pageable_memory_access_are_not_offered() {
		let mut exposed = gpu(1, "NVIDIA H100", 81_559);
		exposed.pageable_memory_access = true;
		let host = HostInfo {
			cpu_cores: 16,
			memory_mib: 1 << 17,
			gpus: vec![gpu(0, "NVIDIA H100", 81_559), exposed.clone()],
			wasm_units_per_second: None,
		};
		let classes = gpu_classes(&host);
		assert_eq!(classes.len(), 1);
		assert_eq!((classes[0].1.clone(), classes[0].0.count), (vec![0], 1));
		let only_exposed = HostInfo { gpus: vec![exposed], ..host };
		assert!(gpu_classes(&only_exposed).is_empty());
	}
}
