// Firmware identity reported in INFO. Builds may override both with -D.
#ifndef VWW_CORE_VERSION_H_
#define VWW_CORE_VERSION_H_

#ifndef VWW_FIRMWARE_VERSION
#define VWW_FIRMWARE_VERSION ((0u << 16) | (1u << 8) | 0u)  // 0.1.0, as pyproject.toml
#endif

#ifndef VWW_FIRMWARE_NAME
#define VWW_FIRMWARE_NAME "vwwdeploy"
#endif

// DEVICE_MAX_RX_PAYLOAD: 80,000 lets SET_FRAME carry a raw 324x244 frame; a board short of RAM may build
// with -DVWW_DEVICE_MAX_RX_PAYLOAD=27656 (one 96x96x3 INFER), losing SET_FRAME.
#ifndef VWW_DEVICE_MAX_RX_PAYLOAD
#define VWW_DEVICE_MAX_RX_PAYLOAD 80000u
#endif

// Staging buffer for STAGE / INFER_STAGED (noisy links): at least 27,648 bytes (one 96x96x3 input), or 0
// to build without staged transfer (INFO capability bit 3 clear).
#ifndef VWW_STAGING_BYTES
#define VWW_STAGING_BYTES 27648u
#endif

#endif  // VWW_CORE_VERSION_H_
