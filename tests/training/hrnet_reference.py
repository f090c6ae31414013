"""HRNet's MPII geometry, step by step as HRNet's published code runs it, for tests of
`PipelineConfig(geometry="hrnet")`: written from leoxiaobin/deep-high-resolution-net.pytorch's
`lib/dataset/mpii.py` (the box and 0-based shift), `lib/dataset/JointsDataset.py` (`__getitem__`
and `generate_target`), `lib/utils/transforms.py` (`get_affine_transform` with OpenCV,
`fliplr_joints`, `flip_back`) and `lib/core/inference.py` (`get_max_preds`, `get_final_preds`
with TEST.POST_PROCESS), plus its test's SHIFT_HEATMAP. Sizes here are HRNet's (width, height);
heatmaps HRNet's (joints, height, width)."""

from __future__ import annotations

import math

import cv2
import numpy as np

FLIP_PAIRS = [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]]  # MPIIDataset.flip_pairs


def loader_box(center: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """MPIIDataset._get_db: centre down 15·s, scale ×1.25, then 0-based."""
    c = np.array(center, dtype=np.float64)
    s = np.array([scale, scale], dtype=np.float64)
    if c[0] != -1:
        c[1] = c[1] + 15 * s[1]
        s = s * 1.25
    return c - 1, s


def get_dir(src_point: list[float], rot_rad: float) -> list[float]:
    sn, cs = np.sin(rot_rad), np.cos(rot_rad)
    return [src_point[0] * cs - src_point[1] * sn, src_point[0] * sn + src_point[1] * cs]


def get_3rd_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    direct = a - b
    return b + np.array([-direct[1], direct[0]], dtype=np.float32)


def get_affine_transform(
    center: np.ndarray,
    scale: np.ndarray,
    rot: float,
    output_size: tuple[int, int],
    inv: bool = False,
) -> np.ndarray:
    scale_tmp = scale * 200.0
    src_w = scale_tmp[0]
    dst_w, dst_h = output_size
    rot_rad = np.pi * rot / 180
    src_dir = get_dir([0, src_w * -0.5], rot_rad)
    dst_dir = np.array([0, dst_w * -0.5], np.float32)
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0, :] = center
    src[1, :] = center + src_dir
    dst[0, :] = [dst_w * 0.5, dst_h * 0.5]
    dst[1, :] = np.array([dst_w * 0.5, dst_h * 0.5]) + dst_dir
    src[2:, :] = get_3rd_point(src[0, :], src[1, :])
    dst[2:, :] = get_3rd_point(dst[0, :], dst[1, :])
    if inv:
        return cv2.getAffineTransform(np.float32(dst), np.float32(src))
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def affine_transform(pt: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.dot(t, np.array([pt[0], pt[1], 1.0]).T)[:2]


def fliplr_joints(
    joints: np.ndarray, joints_vis: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    joints[:, 0] = width - joints[:, 0] - 1
    for a, b in FLIP_PAIRS:
        joints[a, :], joints[b, :] = joints[b, :], joints[a, :].copy()
        joints_vis[a, :], joints_vis[b, :] = joints_vis[b, :], joints_vis[a, :].copy()
    return joints * joints_vis, joints_vis


def generate_target(
    joints: np.ndarray,
    joints_vis: np.ndarray,
    image_size: np.ndarray,
    heatmap_size: np.ndarray,
    sigma: float,
) -> tuple[np.ndarray, np.ndarray]:
    num_joints = len(joints)
    target_weight = np.ones((num_joints, 1), dtype=np.float32)
    target_weight[:, 0] = joints_vis[:, 0]
    target = np.zeros((num_joints, heatmap_size[1], heatmap_size[0]), dtype=np.float32)
    tmp_size = sigma * 3
    for joint_id in range(num_joints):
        feat_stride = image_size / heatmap_size
        mu_x = int(joints[joint_id][0] / feat_stride[0] + 0.5)
        mu_y = int(joints[joint_id][1] / feat_stride[1] + 0.5)
        ul = [int(mu_x - tmp_size), int(mu_y - tmp_size)]
        br = [int(mu_x + tmp_size + 1), int(mu_y + tmp_size + 1)]
        if ul[0] >= heatmap_size[0] or ul[1] >= heatmap_size[1] or br[0] < 0 or br[1] < 0:
            target_weight[joint_id] = 0
            continue
        size = 2 * tmp_size + 1
        x = np.arange(0, size, 1, np.float32)
        y = x[:, np.newaxis]
        x0 = y0 = size // 2
        g = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
        g_x = max(0, -ul[0]), min(br[0], heatmap_size[0]) - ul[0]
        g_y = max(0, -ul[1]), min(br[1], heatmap_size[1]) - ul[1]
        img_x = max(0, ul[0]), min(br[0], heatmap_size[0])
        img_y = max(0, ul[1]), min(br[1], heatmap_size[1])
        if target_weight[joint_id] > 0.5:
            target[joint_id][img_y[0] : img_y[1], img_x[0] : img_x[1]] = g[
                g_y[0] : g_y[1], g_x[0] : g_x[1]
            ]
    return target, target_weight


def training_example(
    image: np.ndarray,
    center: np.ndarray,
    scale: float,
    joints: np.ndarray,
    visibility: np.ndarray,
    multiplier: float,
    rotation: float,
    flip: bool,
    image_size: tuple[int, int],
    heatmap_size: tuple[int, int],
    sigma: float,
) -> dict[str, np.ndarray]:
    """JointsDataset.__getitem__ with the augmentation given: the crop, the crop-px joints, the
    targets, and `trans` from original (unflipped) 0-based image px to crop px."""
    c, s = loader_box(center, scale)
    joints_3d = np.zeros((len(joints), 3))
    joints_3d[:, 0:2] = np.asarray(joints, np.float64) - 1
    joints_vis = np.zeros((len(joints), 3))
    joints_vis[:, 0] = joints_vis[:, 1] = visibility
    s = s * multiplier
    mirror = np.eye(3)
    if flip:
        image = image[:, ::-1, :]
        joints_3d, joints_vis = fliplr_joints(joints_3d, joints_vis, image.shape[1])
        c[0] = image.shape[1] - c[0] - 1
        mirror = np.array([[-1.0, 0.0, image.shape[1] - 1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    trans = get_affine_transform(c, s, rotation, image_size)
    crop = cv2.warpAffine(
        np.ascontiguousarray(image),
        trans,
        (int(image_size[0]), int(image_size[1])),
        flags=cv2.INTER_LINEAR,
    )
    for i in range(len(joints_3d)):
        if joints_vis[i, 0] > 0.0:
            joints_3d[i, 0:2] = affine_transform(joints_3d[i, 0:2], trans)
    target, target_weight = generate_target(
        joints_3d, joints_vis, np.array(image_size), np.array(heatmap_size), sigma
    )
    return {
        "crop": crop,
        "joints": joints_3d[:, :2],
        "heatmaps": np.transpose(target, (1, 2, 0)),  # (h, w, J), as the pipeline's
        "target_weight": target_weight[:, 0],
        "transform": trans @ mirror,
    }


def get_max_preds(batch_heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    batch_size, num_joints, _, width = batch_heatmaps.shape
    heatmaps_reshaped = batch_heatmaps.reshape((batch_size, num_joints, -1))
    idx = np.argmax(heatmaps_reshaped, 2)
    maxvals = np.amax(heatmaps_reshaped, 2)
    maxvals = maxvals.reshape((batch_size, num_joints, 1))
    idx = idx.reshape((batch_size, num_joints, 1))
    preds = np.tile(idx, (1, 1, 2)).astype(np.float32)
    preds[:, :, 0] = (preds[:, :, 0]) % width
    preds[:, :, 1] = np.floor((preds[:, :, 1]) / width)
    pred_mask = np.tile(np.greater(maxvals, 0.0), (1, 1, 2)).astype(np.float32)
    preds *= pred_mask
    return preds, maxvals


def final_preds(batch_heatmaps: np.ndarray, centers: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """get_final_preds (POST_PROCESS on), then MPIIDataset.evaluate's +1: 1-based image px."""
    coords, _ = get_max_preds(batch_heatmaps)
    heatmap_height, heatmap_width = batch_heatmaps.shape[2:]
    for n in range(coords.shape[0]):
        for p in range(coords.shape[1]):
            hm = batch_heatmaps[n][p]
            px = int(math.floor(coords[n][p][0] + 0.5))
            py = int(math.floor(coords[n][p][1] + 0.5))
            if 1 < px < heatmap_width - 1 and 1 < py < heatmap_height - 1:
                diff = np.array([hm[py][px + 1] - hm[py][px - 1], hm[py + 1][px] - hm[py - 1][px]])
                coords[n][p] += np.sign(diff) * 0.25
    preds = coords.copy()
    for i in range(coords.shape[0]):
        trans = get_affine_transform(
            centers[i], scales[i], 0, [heatmap_width, heatmap_height], inv=True
        )
        for p in range(coords.shape[1]):
            preds[i][p, 0:2] = affine_transform(coords[i][p, 0:2], trans)
    return preds[:, :, 0:2] + 1.0


def flip_test_back(output_flipped: np.ndarray) -> np.ndarray:
    """flip_back of (N, J, h, w) heatmaps, then SHIFT_HEATMAP, as HRNet's validate does."""
    output_flipped = output_flipped[:, :, :, ::-1].copy()
    for a, b in FLIP_PAIRS:
        tmp = output_flipped[:, a, :, :].copy()
        output_flipped[:, a, :, :] = output_flipped[:, b, :, :]
        output_flipped[:, b, :, :] = tmp
    output_flipped[:, :, :, 1:] = output_flipped.copy()[:, :, :, 0:-1]
    return output_flipped
