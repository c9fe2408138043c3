"""Bone rotations mean the same physical motion in every engine's axes."""

import numpy as np
import pytest

from artalk_service.retarget.bones import Bone

# Forward, up and the character's own left in each engine, for a character facing forward.
AXES = {
    "gltf": {"forward": (0, 0, 1), "up": (0, 1, 0), "left": (1, 0, 0)},
    "unity": {"forward": (0, 0, 1), "up": (0, 1, 0), "left": (-1, 0, 0)},
    "unreal": {"forward": (1, 0, 0), "up": (0, 0, 1), "left": (0, -1, 0)},
}
HEAD = ("HeadYaw", "HeadPitch", "HeadRoll")


def rotate(q, v):
    """Rotate vector v by unit quaternion q = (x, y, z, w)."""
    u, w = np.asarray(q[:3]), q[3]
    v = np.asarray(v, dtype=np.float64)
    return v + 2 * w * np.cross(u, v) + 2 * np.cross(u, np.cross(u, v))


def quaternion(convention, yaw=0.0, pitch=0.0, roll=0.0):
    return Bone("head", HEAD, convention).values(np.array([[yaw, pitch, roll]], np.float32))[0]


def axis_quaternion(axis, angle):
    q = np.zeros(4)
    q[axis], q[3] = np.sin(angle / 2), np.cos(angle / 2)
    return q


def multiply(a, b):
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )


def same_rotation(a, b):
    return np.allclose(a, b, atol=1e-5) or np.allclose(a, -np.asarray(b), atol=1e-5)


@pytest.mark.parametrize("convention", AXES)
def test_positive_yaw_turns_the_face_to_the_characters_own_left(convention):
    ax = AXES[convention]
    turned = rotate(quaternion(convention, yaw=np.pi / 2), ax["forward"])
    np.testing.assert_allclose(turned, ax["left"], atol=1e-6)


@pytest.mark.parametrize("convention", AXES)
def test_positive_pitch_looks_down(convention):
    ax = AXES[convention]
    turned = rotate(quaternion(convention, pitch=np.pi / 2), ax["forward"])
    np.testing.assert_allclose(turned, -np.asarray(ax["up"]), atol=1e-6)


@pytest.mark.parametrize("convention", AXES)
def test_positive_roll_tilts_toward_the_left_shoulder(convention):
    ax = AXES[convention]
    turned = rotate(quaternion(convention, roll=np.pi / 2), ax["up"])
    np.testing.assert_allclose(turned, ax["left"], atol=1e-6)


@pytest.mark.parametrize("convention", AXES)
def test_yaw_then_pitch_then_roll_in_the_heads_own_frame(convention):
    """Intrinsic order: after a 90 degree yaw, a pitch still tips the (turned) face down."""
    ax = AXES[convention]
    q = quaternion(convention, yaw=np.pi / 2, pitch=np.pi / 2)
    np.testing.assert_allclose(rotate(q, ax["forward"]), -np.asarray(ax["up"]), atol=1e-6)
    np.testing.assert_allclose(rotate(q, ax["up"]), ax["left"], atol=1e-6)
    assert np.linalg.norm(q) == pytest.approx(1.0)


ANGLES = (0.4, -0.25, 0.3)  # yaw, pitch, roll in radians


def test_unity_euler_degrees_are_what_quaternion_euler_takes():
    x, y, z = np.radians(Bone("head", HEAD, "unity", "euler_degrees").values(np.array([ANGLES], np.float32))[0])
    # Quaternion.Euler(x, y, z) rotates about z, then x, then y (world axes).
    unity = multiply(multiply(axis_quaternion(1, y), axis_quaternion(0, x)), axis_quaternion(2, z))
    assert same_rotation(unity, quaternion("unity", *ANGLES))


def test_unreal_euler_degrees_are_an_frotator():
    pitch, yaw, roll = Bone("head", HEAD, "unreal", "euler_degrees").values(np.array([ANGLES], np.float32))[0]
    # FRotator::Quaternion(), as in Unreal's source.
    sp, cp = np.sin(np.radians(pitch) / 2), np.cos(np.radians(pitch) / 2)
    sy, cy = np.sin(np.radians(yaw) / 2), np.cos(np.radians(yaw) / 2)
    sr, cr = np.sin(np.radians(roll) / 2), np.cos(np.radians(roll) / 2)
    unreal = [
        cr * sp * sy - sr * cp * cy,
        -cr * sp * cy - sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    ]
    assert same_rotation(unreal, quaternion("unreal", *ANGLES))
    assert yaw == pytest.approx(-np.degrees(ANGLES[0]), abs=1e-4)  # Unreal's positive yaw turns right


def test_channel_names():
    assert Bone("head", HEAD, "gltf").channel_names == ["head.qx", "head.qy", "head.qz", "head.qw"]
    assert Bone("head", HEAD, "unity", "euler_degrees").channel_names == ["head.rx", "head.ry", "head.rz"]
    assert Bone("neck", HEAD, "unreal", "euler_degrees").channel_names == ["neck.pitch", "neck.yaw", "neck.roll"]
