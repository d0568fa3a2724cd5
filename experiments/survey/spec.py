"""What a survey asks (appendix A.2), shared by the builder, the pages and the server (light imports: the
server starts without torch)."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).with_name("static")
#: question key -> the wording shown (appendix A.2); "adherence" shows the frame-wise video as video 1
QUESTIONS = {"preferred": "Which video is more appealing?",
             "adherence": "Which video looks more similar to video 1?"}
RESPONSES_PER_TASK = 5  # the paper's 5 responses per (video, style, question)
