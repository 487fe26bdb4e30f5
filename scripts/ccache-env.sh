# Sourced by the build scripts: ccache across clean builds and clones. The sloppiness lets it
# cache translation units that use the precompiled LibTorch header; paths are taken relative to
# the checkout, so a fresh clone elsewhere reuses the cache.
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
