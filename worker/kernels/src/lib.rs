//! Compute kernels written once and run two ways: natively (linked as an `rlib`) and as a Stratus
//! WASM job (built as a `cdylib` for `wasm32v1-none`, following the job ABI in
//! `docs/job-abi.md`). The worker's executor benchmark times the same source both ways, so the
//! ratio it prints is the executor's cost and nothing else.
//!
//! The kernels, each the WASM module's `run` in one build (cargo features pick which):
//! - [`sha256_rounds`] (default): integer work — 32-bit rotations and additions, a state bigger than
//!   x86-64's register file. Input: a round count (`u32`, little-endian) followed by data; output:
//!   the SHA-256 of the data repeated that many times (32 bytes). It reads its input through
//!   [`Input`] in fixed-size chunks, natively from a slice, in WASM through the
//!   `stratus::input_read` host call: the same copies either way.
//! - [`matmul`] (feature `matmul`): floating-point work over memory — the product of two `n`×`n`
//!   `f64` matrices, in the loop order compilers vectorise. Input: `n` (`u32`, little-endian);
//!   output: [`matmul`]'s 16 bytes.
//! - [`mandelbrot`] (feature `mandelbrot`): floating-point work with a data-dependent exit — the
//!   escape count of every point of a grid. Input: the grid's side and the iteration cap (`u32`
//!   each, little-endian); output: [`mandelbrot`]'s 16 bytes.
//!
//! `no_std` on wasm32 only: on the host the crate links `std`, so that its `cdylib` also builds for
//! the host in workspace builds.

#![cfg_attr(target_arch = "wasm32", no_std)]

/// Bytes read from the input per [`Input::read`] call.
pub const CHUNK_BYTES: usize = 16 * 1024;

/// Where a kernel reads its input from.
pub trait Input {
	/// The input's size in bytes.
	fn size(&self) -> usize;
	/// Copies input bytes from `offset` into `buf`; returns how many (0 at or past the end).
	fn read(&mut self, offset: usize, buf: &mut [u8]) -> usize;
}

/// An input held in memory.
pub struct SliceInput<'a>(pub &'a [u8]);

impl Input for SliceInput<'_> {
	fn size(&self) -> usize {
		self.0.len()
	}

	fn read(&mut self, offset: usize, buf: &mut [u8]) -> usize {
		let rest = self.0.get(offset..).unwrap_or_default();
		let n = rest.len().min(buf.len());
		match (buf.get_mut(..n), rest.get(..n)) {
			(Some(dst), Some(src)) => {
				dst.copy_from_slice(src);
				n
			},
			_ => 0,
		}
	}
}

/// The benchmark kernel: SHA-256 of the data repeated `rounds` times, where the input is
/// `rounds` (`u32`, little-endian) followed by the data. An input shorter than 4 bytes counts as
/// zero rounds.
pub fn sha256_rounds<I: Input>(input: &mut I) -> [u8; 32] {
	let mut header = [0u8; 4];
	let rounds =
		if input.read(0, &mut header) == header.len() { u32::from_le_bytes(header) } else { 0 };
	let mut hasher = Sha256::new();
	let mut chunk = [0u8; CHUNK_BYTES];
	for _ in 0..rounds {
		let mut offset = header.len();
		loop {
			let n = input.read(offset, &mut chunk);
			if n == 0 {
				break;
			}
			hasher.update(chunk.get(..n).unwrap_or_default());
			offset = offset.saturating_add(n);
		}
	}
	hasher.finalize()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
	let mut hasher = Sha256::new();
	hasher.update(data);
	hasher.finalize()
}

const K: [u32; 64] = [
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const H0: [u32; 8] = [
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

const BLOCK: usize = 64;

/// Streaming SHA-256 (FIPS 180-4), plain scalar code.
#[derive(Clone)]
pub struct Sha256 {
	state: [u32; 8],
	block: [u8; BLOCK],
	filled: usize,
	length: u64,
}

impl Default for Sha256 {
	fn default() -> Self {
		Self::new()
	}
}

impl Sha256 {
	/// A hasher that has seen nothing.
	pub const fn new() -> Self {
		Self { state: H0, block: [0; BLOCK], filled: 0, length: 0 }
	}

	/// Hashes `data` after what came before.
	pub fn update(&mut self, mut data: &[u8]) {
		self.length = self.length.wrapping_add(data.len() as u64);
		if self.filled > 0 {
			let take = BLOCK.saturating_sub(self.filled).min(data.len());
			let (head, rest) = data.split_at(take);
			let end = self.filled.saturating_add(take);
			if let Some(dst) = self.block.get_mut(self.filled..end) {
				dst.copy_from_slice(head);
			}
			self.filled = end;
			data = rest;
			if self.filled < BLOCK {
				return;
			}
			compress(&mut self.state, &self.block);
			self.filled = 0;
		}
		let mut blocks = data.chunks_exact(BLOCK);
		for block in &mut blocks {
			compress(&mut self.state, block);
		}
		let rest = blocks.remainder();
		if let Some(dst) = self.block.get_mut(..rest.len()) {
			dst.copy_from_slice(rest);
		}
		self.filled = rest.len();
	}

	/// The digest of everything hashed.
	pub fn finalize(mut self) -> [u8; 32] {
		let bit_length = self.length.wrapping_mul(8);
		// 0x80, then zeros up to 56 bytes into a block, then the length: 1 to 64 bytes of padding.
		let mut padding = [0u8; BLOCK];
		if let Some(first) = padding.first_mut() {
			*first = 0x80;
		}
		let pad = if self.filled < 56 { 56usize } else { 120 }.saturating_sub(self.filled);
		self.update(padding.get(..pad).unwrap_or_default());
		self.update(&bit_length.to_be_bytes());
		let mut digest = [0u8; 32];
		for (bytes, word) in digest.chunks_exact_mut(4).zip(self.state) {
			bytes.copy_from_slice(&word.to_be_bytes());
		}
		digest
	}
}

/// One round; the caller renames the working variables instead of shifting them.
macro_rules! round {
	(
		$w:ident, $i:literal,
		$a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident
	) => {
		let word = schedule(&mut $w, $i);
		let s1 = $e.rotate_right(6) ^ $e.rotate_right(11) ^ $e.rotate_right(25);
		let ch = ($e & $f) ^ (!$e & $g);
		let t1 = $h.wrapping_add(s1).wrapping_add(ch).wrapping_add(k($i)).wrapping_add(word);
		let s0 = $a.rotate_right(2) ^ $a.rotate_right(13) ^ $a.rotate_right(22);
		let maj = ($a & $b) ^ ($a & $c) ^ ($b & $c);
		$d = $d.wrapping_add(t1);
		$h = t1.wrapping_add(s0.wrapping_add(maj));
	};
}

#[inline(always)]
fn k(i: usize) -> u32 {
	K.get(i).copied().unwrap_or_default()
}

/// Message word `i`, from a 16-word window: the block's words first, then each computed in the
/// place of the one 16 before it.
#[inline(always)]
fn schedule(w: &mut [u32; 16], i: usize) -> u32 {
	let at = |j: usize| w.get(j & 15).copied().unwrap_or_default();
	if i < 16 {
		return at(i);
	}
	let (w2, w7, w15, w16) =
		(at(i.wrapping_sub(2)), at(i.wrapping_sub(7)), at(i.wrapping_sub(15)), at(i));
	let s0 = w15.rotate_right(7) ^ w15.rotate_right(18) ^ w15.wrapping_shr(3);
	let s1 = w2.rotate_right(17) ^ w2.rotate_right(19) ^ w2.wrapping_shr(10);
	let word = w16.wrapping_add(s0).wrapping_add(w7).wrapping_add(s1);
	if let Some(slot) = w.get_mut(i & 15) {
		*slot = word;
	}
	word
}

/// The compression function, fully unrolled (the usual form of SHA-256 in software).
fn compress(state: &mut [u32; 8], block: &[u8]) {
	let mut w = [0u32; 16];
	for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
		*word = u32::from_be_bytes(bytes.try_into().unwrap_or_default());
	}
	let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
	round!(w, 0, a, b, c, d, e, f, g, h);
	round!(w, 1, h, a, b, c, d, e, f, g);
	round!(w, 2, g, h, a, b, c, d, e, f);
	round!(w, 3, f, g, h, a, b, c, d, e);
	round!(w, 4, e, f, g, h, a, b, c, d);
	round!(w, 5, d, e, f, g, h, a, b, c);
	round!(w, 6, c, d, e, f, g, h, a, b);
	round!(w, 7, b, c, d, e, f, g, h, a);
	round!(w, 8, a, b, c, d, e, f, g, h);
	round!(w, 9, h, a, b, c, d, e, f, g);
	round!(w, 10, g, h, a, b, c, d, e, f);
	round!(w, 11, f, g, h, a, b, c, d, e);
	round!(w, 12, e, f, g, h, a, b, c, d);
	round!(w, 13, d, e, f, g, h, a, b, c);
	round!(w, 14, c, d, e, f, g, h, a, b);
	round!(w, 15, b, c, d, e, f, g, h, a);
	round!(w, 16, a, b, c, d, e, f, g, h);
	round!(w, 17, h, a, b, c, d, e, f, g);
	round!(w, 18, g, h, a, b, c, d, e, f);
	round!(w, 19, f, g, h, a, b, c, d, e);
	round!(w, 20, e, f, g, h, a, b, c, d);
	round!(w, 21, d, e, f, g, h, a, b, c);
	round!(w, 22, c, d, e, f, g, h, a, b);
	round!(w, 23, b, c, d, e, f, g, h, a);
	round!(w, 24, a, b, c, d, e, f, g, h);
	round!(w, 25, h, a, b, c, d, e, f, g);
	round!(w, 26, g, h, a, b, c, d, e, f);
	round!(w, 27, f, g, h, a, b, c, d, e);
	round!(w, 28, e, f, g, h, a, b, c, d);
	round!(w, 29, d, e, f, g, h, a, b, c);
	round!(w, 30, c, d, e, f, g, h, a, b);
	round!(w, 31, b, c, d, e, f, g, h, a);
	round!(w, 32, a, b, c, d, e, f, g, h);
	round!(w, 33, h, a, b, c, d, e, f, g);
	round!(w, 34, g, h, a, b, c, d, e, f);
	round!(w, 35, f, g, h, a, b, c, d, e);
	round!(w, 36, e, f, g, h, a, b, c, d);
	round!(w, 37, d, e, f, g, h, a, b, c);
	round!(w, 38, c, d, e, f, g, h, a, b);
	round!(w, 39, b, c, d, e, f, g, h, a);
	round!(w, 40, a, b, c, d, e, f, g, h);
	round!(w, 41, h, a, b, c, d, e, f, g);
	round!(w, 42, g, h, a, b, c, d, e, f);
	round!(w, 43, f, g, h, a, b, c, d, e);
	round!(w, 44, e, f, g, h, a, b, c, d);
	round!(w, 45, d, e, f, g, h, a, b, c);
	round!(w, 46, c, d, e, f, g, h, a, b);
	round!(w, 47, b, c, d, e, f, g, h, a);
	round!(w, 48, a, b, c, d, e, f, g, h);
	round!(w, 49, h, a, b, c, d, e, f, g);
	round!(w, 50, g, h, a, b, c, d, e, f);
	round!(w, 51, f, g, h, a, b, c, d, e);
	round!(w, 52, e, f, g, h, a, b, c, d);
	round!(w, 53, d, e, f, g, h, a, b, c);
	round!(w, 54, c, d, e, f, g, h, a, b);
	round!(w, 55, b, c, d, e, f, g, h, a);
	round!(w, 56, a, b, c, d, e, f, g, h);
	round!(w, 57, h, a, b, c, d, e, f, g);
	round!(w, 58, g, h, a, b, c, d, e, f);
	round!(w, 59, f, g, h, a, b, c, d, e);
	round!(w, 60, e, f, g, h, a, b, c, d);
	round!(w, 61, d, e, f, g, h, a, b, c);
	round!(w, 62, c, d, e, f, g, h, a, b);
	round!(w, 63, b, c, d, e, f, g, h, a);
	for (word, add) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
		*word = word.wrapping_add(add);
	}
}

/// Reads the `u32`s (little-endian) an input starts with; missing ones are zero.
pub fn header<const N: usize, I: Input>(input: &mut I) -> [u32; N] {
	let mut values = [0u32; N];
	let mut bytes = [0u8; 4];
	for (i, value) in values.iter_mut().enumerate() {
		if input.read(i.saturating_mul(4), &mut bytes) == bytes.len() {
			*value = u32::from_le_bytes(bytes);
		}
	}
	values
}

/// The `f64`s [`matmul`] needs for `n`: three `n`×`n` matrices.
pub const fn matmul_scratch(n: usize) -> usize {
	n.saturating_mul(n).saturating_mul(3)
}

/// The product C = A·B of two `n`×`n` `f64` matrices whose entries are drawn from a xorshift
/// generator (uniform in [-0.5, 0.5)), kept in `scratch` (at least [`matmul_scratch`]`(n)`
/// entries; with fewer, `n` is taken as 0). Output: the sum of C's entries (`f64`) and the xor of
/// their bits, each rotated by its row (`u64`), little-endian. Every step is in a fixed order, so
/// the output is the same bit for bit wherever it runs.
pub fn matmul(n: usize, scratch: &mut [f64]) -> [u8; 16] {
	let n = if scratch.len() >= matmul_scratch(n) { n } else { 0 };
	let size = n.saturating_mul(n);
	let (a, rest) = scratch.split_at_mut(size);
	let (b, rest) = rest.split_at_mut(size);
	let c = rest.get_mut(..size).unwrap_or_default();
	let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ n as u64;
	for entry in a.iter_mut().chain(b.iter_mut()) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*entry = (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64) - 0.5;
	}
	c.fill(0.0);
	if n > 0 {
		for (a_row, c_row) in a.chunks_exact(n).zip(c.chunks_exact_mut(n)) {
			for (&a_ik, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
				for (c_ij, &b_kj) in c_row.iter_mut().zip(b_row) {
					*c_ij += a_ik * b_kj;
				}
			}
		}
	}
	let mut sum = 0.0f64;
	let mut bits = 0u64;
	for (row, c_row) in c.chunks_exact(n.max(1)).enumerate() {
		for &c_ij in c_row {
			sum += c_ij;
			bits ^= c_ij.to_bits().rotate_left(row as u32);
		}
	}
	pair(sum.to_le_bytes(), bits.to_le_bytes())
}

/// Two 8-byte values side by side.
fn pair(first: [u8; 8], second: [u8; 8]) -> [u8; 16] {
	let mut output = [0u8; 16];
	for (out, byte) in output.iter_mut().zip(first.into_iter().chain(second)) {
		*out = byte;
	}
	output
}

/// The escape count of each point of a `side`×`side` grid over [-2, 0.5] × [-1.25, 1.25] under
/// z ← z² + c, capped at `cap` iterations. Output: the total of the counts and a fold of them
/// (rotate by 5, xor the count) in grid order, `u64`s, little-endian.
pub fn mandelbrot(side: u32, cap: u32) -> [u8; 16] {
	let step = 2.5 / f64::from(side.max(1));
	let (mut total, mut fold) = (0u64, 0u64);
	for y in 0..side {
		let ci = -1.25 + f64::from(y) * step;
		for x in 0..side {
			let cr = -2.0 + f64::from(x) * step;
			let (mut zr, mut zi, mut count) = (0.0f64, 0.0f64, 0u32);
			while count < cap {
				let (zr2, zi2) = (zr * zr, zi * zi);
				if zr2 + zi2 > 4.0 {
					break;
				}
				zi = 2.0 * zr * zi + ci;
				zr = zr2 - zi2 + cr;
				count = count.wrapping_add(1);
			}
			total = total.wrapping_add(u64::from(count));
			fold = fold.rotate_left(5) ^ u64::from(count);
		}
	}
	pair(total.to_le_bytes(), fold.to_le_bytes())
}

/// The job ABI wrapper: `run` reads the input through `stratus::input_read` and writes the 32-byte
/// digest with `stratus::output_write`.
#[cfg(target_arch = "wasm32")]
mod job {
	use super::Input;

	#[link(wasm_import_module = "stratus")]
	extern "C" {
		fn input_len() -> i32;
		fn input_read(ptr: i32, offset: i32, len: i32) -> i32;
		fn output_write(ptr: i32, len: i32) -> i32;
	}

	struct HostInput;

	impl Input for HostInput {
		fn size(&self) -> usize {
			// SAFETY: a host call without arguments.
			unsafe { input_len() as usize }
		}

		fn read(&mut self, offset: usize, buf: &mut [u8]) -> usize {
			// SAFETY: the host writes at most `buf.len()` bytes at `buf`.
			unsafe { input_read(buf.as_mut_ptr() as i32, offset as i32, buf.len() as i32) as usize }
		}
	}

	#[cfg(not(any(feature = "matmul", feature = "mandelbrot")))]
	#[no_mangle]
	pub extern "C" fn run() {
		write(&super::sha256_rounds(&mut HostInput));
	}

	#[cfg(feature = "matmul")]
	#[no_mangle]
	pub extern "C" fn run() {
		let [n] = super::header::<1, _>(&mut HostInput);
		let n = n as usize;
		let bytes = super::matmul_scratch(n).saturating_mul(core::mem::size_of::<f64>());
		// The matrices live in pages grown for them; a grow the memory cap refuses is a trap.
		let pages = bytes.div_ceil(65_536);
		let first = core::arch::wasm32::memory_grow(0, pages);
		if first == usize::MAX {
			core::arch::wasm32::unreachable()
		}
		// SAFETY: the pages just grown are this run's alone, zeroed, and `f64`-aligned.
		let scratch = unsafe {
			core::slice::from_raw_parts_mut(
				(first.saturating_mul(65_536)) as *mut f64,
				super::matmul_scratch(n),
			)
		};
		write(&super::matmul(n, scratch));
	}

	#[cfg(feature = "mandelbrot")]
	#[no_mangle]
	pub extern "C" fn run() {
		let [side, cap] = super::header::<2, _>(&mut HostInput);
		write(&super::mandelbrot(side, cap));
	}

	fn write(output: &[u8]) {
		// SAFETY: the host reads `output.len()` bytes at `output`.
		unsafe {
			output_write(output.as_ptr() as i32, output.len() as i32);
		}
	}

	#[panic_handler]
	fn panic(_: &core::panic::PanicInfo) -> ! {
		core::arch::wasm32::unreachable()
	}
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
	use super::*;

	fn hex(bytes: &[u8]) -> String {
		bytes.iter().map(|b| format!("{b:02x}")).collect()
	}

	// FIPS 180-4 / NIST CSRC example vectors.
	#[test]
	fn sha256_matches_the_standard_vectors() {
		assert_eq!(
			hex(&sha256(b"")),
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		);
		assert_eq!(
			hex(&sha256(b"abc")),
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
		);
		assert_eq!(
			hex(&sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
			"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
		);
		let mut hasher = Sha256::new();
		for _ in 0..1000 {
			hasher.update(&[b'a'; 1000]);
		}
		assert_eq!(
			hex(&hasher.finalize()),
			"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
		);
	}

	#[test]
	fn streaming_in_any_split_matches_one_update() {
		let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
		let whole = sha256(&data);
		for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 999, 1000] {
			let mut hasher = Sha256::new();
			hasher.update(&data[..split]);
			hasher.update(&data[split..]);
			assert_eq!(hasher.finalize(), whole, "split at {split}");
		}
	}

	#[test]
	fn rounds_hash_the_data_repeated() {
		let data: Vec<u8> = (0..(CHUNK_BYTES as u32 * 2 + 17)).map(|i| (i % 251) as u8).collect();
		let mut input = 3u32.to_le_bytes().to_vec();
		input.extend_from_slice(&data);
		let repeated = [&data[..], &data[..], &data[..]].concat();
		assert_eq!(sha256_rounds(&mut SliceInput(&input)), sha256(&repeated));
		assert_eq!(sha256_rounds(&mut SliceInput(&[1, 0])), sha256(b""));
		assert_eq!(sha256_rounds(&mut SliceInput(&[0, 0, 0, 0, 1, 2])), sha256(b""));
	}
}
