"""Worlds and loaders, all returning ``Batch`` (x, concepts, mask, meta). Data imports nothing else of igm_lite.

    toy2d   the 2-D stripe world of chapter 1 (closed-form products of Gaussian experts)
    attributes  the paper's encoding of three binary attributes as concepts (faces and CelebA)
    faces   procedural cartoon faces: 3 binary attributes and a group factor, in five worlds of shift (the CelebA chapter's CPU world)
    celeba  the real CelebA with the paper's split (train female; test female / male)
    digits  canvases of real handwritten digits with web-style partial captions (the zero-shot chapter's CPU world)
    labelled  a folder of photos with label sets from a CSV (the zero-shot chapter's GPU data)
    clevr   procedural CLEVR-like scenes of objects at positions, and the real CLEVR_v1.0 (the object-discovery chapter)
"""
from .attributes import ATTRIBUTES, attribute_concepts, attribute_pool, attrs_from_slots
from .base import Batch
from .celeba import CelebA, CelebAWorld
from .clevr import Clevr, ClevrWorld, position_concepts
from .digits import DigitWorld, prompt_pool
from .faces import FACE_WORLDS, GROUP_B_SHIFT, SHIFT_NAMES, EveryFaceWorld, FaceWorld, face_world
from .labelled import LabelledImages
from .toy2d import StripeWorld

__all__ = ["ATTRIBUTES", "FACE_WORLDS", "EveryFaceWorld", "face_world", "GROUP_B_SHIFT", "SHIFT_NAMES", "Batch", "CelebA", "CelebAWorld", "Clevr", "ClevrWorld", "position_concepts", "DigitWorld", "FaceWorld", "LabelledImages", "StripeWorld", "prompt_pool", "attribute_concepts", "attribute_pool", "attrs_from_slots"]
