//! The wgpu context: adapter selection, device creation with the adapter's limits, and the
//! on-disk pipeline cache.
//!
//! Selection order: the adapter named by `TWINVLA_ADAPTER` (a case-insensitive substring of
//! the adapter name, or `cpu` / `gpu`), else a discrete GPU, an integrated GPU, any other
//! Vulkan adapter, and finally a CPU adapter (Mesa lavapipe).

use std::path::PathBuf;
use std::sync::Arc;

/// Environment variable that overrides adapter selection.
pub const ADAPTER_ENV: &str = "TWINVLA_ADAPTER";

/// Errors creating the GPU context.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No Vulkan adapter at all.
    #[error(
        "no Vulkan adapter found. Install a GPU driver, or Mesa's CPU driver lavapipe \
         (Debian: `apt-get install mesa-vulkan-drivers libvulkan1`, which tools/setup.sh does)"
    )]
    NoAdapter,
    /// The requested adapter does not exist.
    #[error("no Vulkan adapter matches '{wanted}' (available: {available})")]
    NoMatchingAdapter {
        /// What was asked for.
        wanted: String,
        /// Adapters found.
        available: String,
    },
    /// The device could not be created.
    #[error("cannot open the Vulkan device '{adapter}': {source}")]
    Device {
        /// Adapter name.
        adapter: String,
        /// The wgpu error.
        source: wgpu::RequestDeviceError,
    },
    /// A buffer larger than the device allows.
    #[error("{what} needs a {bytes}-byte storage binding; the device allows {limit}")]
    TooLarge {
        /// What buffer.
        what: String,
        /// Size needed.
        bytes: u64,
        /// The device's limit.
        limit: u64,
    },
    /// A setting (environment variable or option) has a value the runtime does not know.
    #[error("{0}")]
    Config(String),
    /// A shape or argument check failed before dispatch.
    #[error("{0}")]
    Shape(String),
    /// Mapping a buffer for read-back failed.
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
    /// The device reported an error (validation, out of memory, lost device).
    #[error("GPU error: {0}")]
    Failed(String),
}

/// A device and queue with the facts kernels need.
#[derive(Clone)]
pub struct GpuContext {
    /// The device.
    pub device: Arc<wgpu::Device>,
    /// Its queue.
    pub queue: Arc<wgpu::Queue>,
    /// Adapter name, driver and type.
    pub info: wgpu::AdapterInfo,
    /// Limits granted to the device.
    pub limits: wgpu::Limits,
    /// Whether timestamp queries are available.
    pub timestamps: bool,
    /// Whether subgroup operations are available to shaders.
    pub subgroups: bool,
    cache: Option<Arc<wgpu::PipelineCache>>,
    cache_path: Option<PathBuf>,
    /// The first device error reported since the last [`GpuContext::wait`].
    errors: Arc<std::sync::Mutex<Option<String>>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuContext({} / {:?})", self.info.name, self.info.device_type)
    }
}

fn rank(info: &wgpu::AdapterInfo) -> u8 {
    match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu | wgpu::DeviceType::Other => 2,
        wgpu::DeviceType::Cpu => 3,
    }
}

/// Where the pipeline cache of an adapter lives (`$TWINVLA_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/twinvla-edge`, else `~/.cache/twinvla-edge`).
fn cache_file(info: &wgpu::AdapterInfo) -> Option<PathBuf> {
    let dir = std::env::var_os("TWINVLA_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("twinvla-edge"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/twinvla-edge"))
        })?;
    let key = wgpu::util::pipeline_cache_key(info)?;
    Some(dir.join(key))
}

impl GpuContext {
    /// Opens the preferred adapter (see the module docs), or the one `wanted` names.
    pub fn new(wanted: Option<&str>) -> Result<Self, GpuError> {
        pollster::block_on(Self::new_async(wanted))
    }

    async fn new_async(wanted: Option<&str>) -> Result<Self, GpuError> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::VULKAN;
        let instance = wgpu::Instance::new(desc);
        let mut adapters = instance.enumerate_adapters(wgpu::Backends::VULKAN).await;
        if adapters.is_empty() {
            return Err(GpuError::NoAdapter);
        }
        adapters.sort_by_key(|a| rank(&a.get_info()));
        let env = std::env::var(ADAPTER_ENV).ok();
        let wanted = wanted.map(str::to_string).or(env).filter(|w| !w.is_empty());
        let adapter = match wanted.as_deref() {
            None => adapters.remove(0),
            Some(w) => {
                let w_lower = w.to_lowercase();
                let pos = adapters.iter().position(|a| {
                    let info = a.get_info();
                    match w_lower.as_str() {
                        "cpu" => info.device_type == wgpu::DeviceType::Cpu,
                        "gpu" => info.device_type != wgpu::DeviceType::Cpu,
                        _ => info.name.to_lowercase().contains(&w_lower),
                    }
                });
                match pos {
                    Some(i) => adapters.remove(i),
                    None => {
                        return Err(GpuError::NoMatchingAdapter {
                            wanted: w.to_string(),
                            available: adapters
                                .iter()
                                .map(|a| a.get_info().name)
                                .collect::<Vec<_>>()
                                .join(", "),
                        })
                    }
                }
            }
        };
        let info = adapter.get_info();
        let features = adapter.features();
        let mut required = wgpu::Features::empty();
        for optional in [
            wgpu::Features::TIMESTAMP_QUERY,
            wgpu::Features::PIPELINE_CACHE,
            wgpu::Features::SUBGROUP,
        ] {
            if features.contains(optional) {
                required |= optional;
            }
        }
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("twinvla"),
                required_features: required,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|source| GpuError::Device { adapter: info.name.clone(), source })?;
        let errors: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            log::error!("GPU error: {e}");
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }));
        let cache_path = if required.contains(wgpu::Features::PIPELINE_CACHE) {
            cache_file(&info)
        } else {
            None
        };
        let cache = cache_path.as_ref().map(|path| {
            let data = std::fs::read(path).ok();
            // SAFETY: the data was written by `PipelineCache::get_data` of this adapter (the
            // file name is wgpu's key for the adapter and driver); `fallback` discards data the
            // driver rejects.
            Arc::new(unsafe {
                device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                    label: Some("twinvla pipelines"),
                    data: data.as_deref(),
                    fallback: true,
                })
            })
        });
        Ok(Self {
            device: Arc::new(device),
            queue: Arc::new(queue),
            timestamps: required.contains(wgpu::Features::TIMESTAMP_QUERY),
            subgroups: required.contains(wgpu::Features::SUBGROUP),
            info,
            limits,
            cache,
            cache_path,
            errors,
        })
    }

    /// The pipeline cache, when the adapter supports one.
    pub fn pipeline_cache(&self) -> Option<&wgpu::PipelineCache> {
        self.cache.as_deref()
    }

    /// Writes the pipeline cache to disk (atomically), so that the next start skips shader
    /// compilation. Returns the path written, if any.
    pub fn save_pipeline_cache(&self) -> Option<PathBuf> {
        let (cache, path) = (self.cache.as_ref()?, self.cache_path.as_ref()?);
        let data = cache.get_data()?;
        std::fs::create_dir_all(path.parent()?).ok()?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, data).ok()?;
        std::fs::rename(&tmp, path).ok()?;
        Some(path.clone())
    }

    /// One line describing the adapter.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {} {})",
            self.info.name, self.info.device_type, self.info.driver, self.info.driver_info
        )
    }

    /// Checks that a storage binding of `bytes` fits the device.
    pub fn check_binding(&self, what: &str, bytes: u64) -> Result<(), GpuError> {
        let limit = self.limits.max_storage_buffer_binding_size;
        if bytes > limit {
            return Err(GpuError::TooLarge { what: what.into(), bytes, limit });
        }
        Ok(())
    }

    /// Waits for all submitted work and reports any device error (validation, out of
    /// memory, lost device) raised since the last wait.
    pub fn wait(&self) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Failed(e.to_string()))?;
        match self.errors.lock().map(|mut slot| slot.take()) {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(GpuError::Failed(e)),
            Err(_) => Err(GpuError::Failed("GPU error state poisoned".into())),
        }
    }
}
