"""The MPII skeleton: joint order and names, left/right flip pairs and the limbs drawn between joints."""

JOINT_NAMES: tuple[str, ...] = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",
    "thorax",
    "upper_neck",
    "head_top",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
)
NUM_JOINTS = len(JOINT_NAMES)

# Pairs of joint indices that swap under a horizontal flip.
FLIP_PAIRS: tuple[tuple[int, int], ...] = ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13))

# Limbs as joint index pairs, each tagged with the body side it belongs to.
LIMBS: tuple[tuple[int, int, str], ...] = (
    (0, 1, "right"),
    (1, 2, "right"),
    (2, 6, "right"),
    (6, 3, "left"),
    (3, 4, "left"),
    (4, 5, "left"),
    (6, 7, "centre"),
    (7, 8, "centre"),
    (8, 9, "centre"),
    (7, 12, "right"),
    (12, 11, "right"),
    (11, 10, "right"),
    (7, 13, "left"),
    (13, 14, "left"),
    (14, 15, "left"),
)
