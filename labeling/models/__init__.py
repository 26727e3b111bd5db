"""Database models of the labeling domain, split by sub-domain."""

from .accounts import Profile, Role
from .comparisons import Assignment, AssignmentStatus, Choice, Comparison, FlagReason, FlagResolution, PairFlag
from .content import Pair, Policy, PolicyKind, Prompt, Sample
from .projects import LabelerExclusion, Project, ProjectMembership

__all__ = [
    "Assignment",
    "AssignmentStatus",
    "Choice",
    "Comparison",
    "FlagReason",
    "FlagResolution",
    "LabelerExclusion",
    "Pair",
    "PairFlag",
    "Policy",
    "PolicyKind",
    "Profile",
    "Project",
    "ProjectMembership",
    "Prompt",
    "Role",
    "Sample",
]
