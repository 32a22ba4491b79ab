"""The feedback loop's record: served searches and clicks (`FeedbackLog`), and the reward a search earned."""

from .log import FeedbackLog
from .records import (
    Click,
    Impression,
    NoTrainingDataError,
    RequestContext,
    ShownItem,
    UnknownRequestError,
    new_request_id,
)
from .rewards import RewardModel

__all__ = ["Click", "FeedbackLog", "Impression", "NoTrainingDataError", "RequestContext", "RewardModel",
           "ShownItem", "UnknownRequestError", "new_request_id"]
