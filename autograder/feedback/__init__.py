"""How a verdict reaches a person: text, HTML, figures and results.json.

Owns the words and the text layout of every verdict, in Japanese and English (``render``: one
renderer and its catalogue, for the CLI, pytest and grade cells), the HTML a browser shows
(``page``: grade cells, nbgrader's feedback, Gradescope), the student's figures beside the
reference's (``pictures``, with the shipped ``reference_figures/``) and the report a grading
writes (``report``: the table and Gradescope's results.json).

Offers all four modules (``__all__``) to the grading pipeline, the nbgrader plug-in and the course's
reports; it never grades.
"""

__all__ = ["render", "page", "pictures", "report"]
