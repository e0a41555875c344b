"""The answers vocabulary (api-contract.md §5) and its strict validation.

Apps render their questions from `FINDINGS`; `validate_answers` is the single
gate every assessment passes before the rules see it. The red-flag screen is
required: a missing answer is rejected, never read as "no".
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

INTEGER = "integer"
BOOLEAN = "boolean"
CHOICE = "choice"
MULTI_CHOICE = "multi_choice"

NO_SURGERY = "none"
NO_INJURY = "none"

SIDES = ("left", "right", "both")
ONSET_SPEEDS = ("sudden", "gradual")
COURSES = ("worsening_fast", "worsening_slow", "stable", "improving")
FOOT_LIFTS = ("cannot", "weak")
SURGERIES = (NO_SURGERY, "hip_replacement", "knee_replacement", "spine", "abdominal", "other")
INJURIES = (NO_INJURY, "leg_fracture", "knee_injury", "back_injury", "other")
KNOWN_CONDITIONS = (
    "multiple_sclerosis", "stroke", "als", "charcot_marie_tooth", "muscular_dystrophy", "polio",
    "diabetes", "herniated_disc", "spinal_stenosis", "cerebral_palsy", "spinal_muscular_atrophy",
)

# A day count longer than the person has been alive (with a year's slack for
# rounding of the age) is a typing mistake, not a history.
DAYS_PER_YEAR_OF_AGE = 366
DAY_COUNTS_BOUNDED_BY_AGE = ("days_since_onset", "days_since_surgery", "days_since_injury")

# A message names this many wrong items of a list at most; a long list of junk gets a short answer.
_MOST_ITEMS_NAMED = 5


@dataclass(frozen=True)
class Finding:
    """One answer code: its type, constraints and the question an app shows."""

    code: str
    type: str
    question: dict = field(hash=False)  # {"en": ..., "es": ...}
    required: bool = False
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    required_when: str | None = None
    default: object = None
    clinician_only: bool = False

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "type": self.type,
            "required": self.required,
            "choices": list(self.choices) if self.choices is not None else None,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "required_when": self.required_when,
            "default": list(self.default) if isinstance(self.default, tuple) else self.default,
            "question": dict(self.question),
            "clinician_only": self.clinician_only,
        }


def _ask(en: str, es: str) -> dict:
    return {"en": en, "es": es}


def _yes_no(code: str, en: str, es: str, *, required: bool = False, clinician_only: bool = False) -> Finding:
    # An optional yes/no question left unanswered counts as "no" (policy §1).
    return Finding(code, BOOLEAN, _ask(en, es), required=required,
                   default=None if required else False, clinician_only=clinician_only)


FINDINGS: tuple[Finding, ...] = (
    Finding("age", INTEGER, _ask("How old are you, in years?", "¿Qué edad tiene, en años?"),
            required=True, minimum=0, maximum=120),
    Finding("affected_side", CHOICE,
            _ask("Which foot is weak: left, right or both?",
                 "¿Qué pie está débil: el izquierdo, el derecho o los dos?"),
            required=True, choices=SIDES),
    Finding("days_since_onset", INTEGER,
            _ask("How many days ago did this weakness start, come back, or clearly get worse?",
                 "¿Hace cuántos días empezó esta debilidad, volvió o empeoró claramente?"),
            required=True, minimum=0),
    Finding("onset_speed", CHOICE,
            _ask("Did it start suddenly or come on gradually?", "¿Empezó de repente o poco a poco?"),
            required=True, choices=ONSET_SPEEDS),
    Finding("course", CHOICE,
            _ask("Since it started, is it getting worse quickly (hours to a few days), getting worse slowly, "
                 "staying the same, or getting better?",
                 "Desde que empezó, ¿empeora rápido (en horas o pocos días), empeora despacio, sigue igual o mejora?"),
            required=True, choices=COURSES),
    Finding("foot_lift", CHOICE,
            _ask("Can you lift the front of the foot at all, or only weakly?",
                 "¿No puede levantar nada la punta del pie, o puede pero con poca fuerza?"),
            required=True, choices=FOOT_LIFTS),
    _yes_no("urinary_retention", "Are you unable to pass urine, or is it much harder than usual?",
            "¿No puede orinar, o le cuesta mucho más que de costumbre?", required=True),
    _yes_no("incontinence", "Have you recently lost control of your bladder or bowel?",
            "¿Ha perdido hace poco el control de la orina o de las heces?", required=True),
    _yes_no("saddle_numbness", "Is the skin around your genitals, bottom or inner thighs numb?",
            "¿Nota adormecida la piel alrededor de los genitales, las nalgas o la cara interna de los muslos?",
            required=True),
    _yes_no("other_leg_weakness", "Has the other leg recently become weak too?",
            "¿La otra pierna también se ha debilitado hace poco?"),
    _yes_no("back_pain", "Do you have low back pain?", "¿Tiene dolor en la parte baja de la espalda?"),
    _yes_no("sciatica", "Does pain shoot from your back or buttock down the leg?",
            "¿Tiene un dolor que baja desde la espalda o la nalga por la pierna?"),
    _yes_no("numbness_top_of_foot", "Is the top of your foot numb?", "¿Tiene adormecido el empeine del pie?"),
    _yes_no("tingling", "Do you feel tingling or pins and needles in the leg or foot?",
            "¿Siente hormigueo o pinchazos en la pierna o el pie?"),
    _yes_no("tripping", "Do you trip or catch your toes more than before?",
            "¿Tropieza o arrastra la punta del pie más que antes?"),
    _yes_no("steppage_gait",
            "Do you lift your knee higher than usual, or does your foot slap the ground, when you walk?",
            "¿Levanta la rodilla más de lo normal, o el pie golpea el suelo, al caminar?"),
    _yes_no("heel_walk_difficulty", "Is it hard to walk on your heels?", "¿Le cuesta caminar sobre los talones?"),
    _yes_no("eversion_weakness", "Is it hard to turn the sole of your foot outwards?",
            "¿Le cuesta girar la planta del pie hacia fuera?"),
    _yes_no("stroke_signs", "Right now, does one side of your face droop, is an arm weak, or is your speech slurred?",
            "¿Ahora mismo tiene la cara caída de un lado, un brazo débil o le cuesta hablar?"),
    _yes_no("vision_problems", "Have you had problems with your eyesight, such as double or blurred vision?",
            "¿Ha tenido problemas de vista, como visión doble o borrosa?"),
    _yes_no("fever", "Do you have a fever?", "¿Tiene fiebre?"),
    _yes_no("unexplained_weight_loss", "Have you lost weight without trying?", "¿Ha perdido peso sin proponérselo?"),
    _yes_no("history_of_cancer", "Have you ever had cancer?", "¿Ha tenido cáncer alguna vez?"),
    _yes_no("previous_foot_drop", "Have you had weakness lifting this foot before this time?",
            "¿Había tenido antes debilidad para levantar este pie?"),
    _yes_no("leg_crossing_or_kneeling", "Do you often sit with your legs crossed, squat or kneel for long periods?",
            "¿Suele sentarse con las piernas cruzadas, o pasar mucho tiempo en cuclillas o de rodillas?"),
    Finding("pain_score", INTEGER,
            _ask("How bad is the pain, from 0 (none) to 10 (the worst imaginable)?",
                 "¿Cuánto le duele, de 0 (nada) a 10 (el peor dolor imaginable)?"),
            minimum=0, maximum=10),
    Finding("recent_surgery", CHOICE,
            _ask("Have you had an operation recently? If so, which kind?",
                 "¿Le han operado hace poco? Si es así, ¿de qué?"),
            choices=SURGERIES, default=NO_SURGERY),
    Finding("days_since_surgery", INTEGER,
            _ask("How many days ago was the operation?", "¿Hace cuántos días fue la operación?"),
            minimum=0, required_when="recent_surgery != none"),
    Finding("recent_injury", CHOICE,
            _ask("Have you injured yourself recently? If so, how?", "¿Se ha lesionado hace poco? Si es así, ¿cómo?"),
            choices=INJURIES, default=NO_INJURY),
    Finding("days_since_injury", INTEGER,
            _ask("How many days ago was the injury?", "¿Hace cuántos días fue la lesión?"),
            minimum=0, required_when="recent_injury != none"),
    Finding("known_conditions", MULTI_CHOICE,
            _ask("Has a doctor ever told you that you have any of these conditions?",
                 "¿Algún médico le ha dicho que tiene alguna de estas enfermedades?"),
            choices=KNOWN_CONDITIONS, default=()),
    Finding("dorsiflexion_mrc", INTEGER,
            _ask("Ankle dorsiflexion strength on the MRC scale (0-5).",
                 "Fuerza de flexión dorsal del tobillo en la escala MRC (0-5)."),
            minimum=0, maximum=5, clinician_only=True),
    _yes_no("upper_motor_neuron_signs", "Upper motor neuron signs on examination (brisk reflexes, Babinski, clonus)?",
            "¿Signos de primera motoneurona en la exploración (hiperreflexia, Babinski, clonus)?",
            clinician_only=True),
    _yes_no("mri_severe_compression", "Does MRI show severe nerve root compression that matches the examination?",
            "¿La resonancia muestra una compresión radicular grave que concuerda con la exploración?",
            clinician_only=True),
)

FINDINGS_BY_CODE: dict[str, Finding] = {finding.code: finding for finding in FINDINGS}
REQUIRED_CODES: tuple[str, ...] = tuple(finding.code for finding in FINDINGS if finding.required)

# days_* code -> the event code whose presence it depends on, and that event's "nothing happened" value
_DAYS_OF_EVENT = {"days_since_surgery": ("recent_surgery", NO_SURGERY),
                  "days_since_injury": ("recent_injury", NO_INJURY)}


def _type_problem(finding: Finding, value: object) -> str | None:
    """Why `value` is not an acceptable non-null answer to `finding`, or None."""
    code = finding.code
    if finding.type == INTEGER:
        # bool is a subclass of int in Python, and 45.0 == 45: JSON types are strict here.
        if type(value) is not int:
            return f"{code} must be a whole number (a JSON integer), not {_describe(value)}."
        if finding.minimum is not None and value < finding.minimum:
            return f"{code} must be at least {finding.minimum}, not {_describe(value)}."
        if finding.maximum is not None and value > finding.maximum:
            return f"{code} must be at most {finding.maximum}, not {_describe(value)}."
        return None
    if finding.type == BOOLEAN:
        if type(value) is not bool:
            return f"{code} must be true or false, not {_describe(value)}."
        return None
    if finding.type == CHOICE:
        if type(value) is not str or value not in finding.choices:
            return f"{code} must be one of {', '.join(finding.choices)}, not {_describe(value)}."
        return None
    if type(value) is not list:
        return f"{code} must be a list of condition codes, not {_describe(value)}."
    unknown = [item for item in value if type(item) is not str or item not in finding.choices]
    if unknown:
        shown = ", ".join(_describe(item) for item in unknown[:_MOST_ITEMS_NAMED])
        if len(unknown) > _MOST_ITEMS_NAMED:
            shown += f" and {len(unknown) - _MOST_ITEMS_NAMED} more"
        return (f"{code} holds {shown}, which {'is' if len(unknown) == 1 else 'are'} not among: "
                f"{', '.join(finding.choices)}.")
    repeated = sorted(item for item, times in Counter(value).items() if times > 1)
    if repeated:
        return f"{code} lists {', '.join(repeated)} more than once."
    return None


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is str:
        return f'the text "{value}"' if len(value) <= 40 else "a long text"
    if type(value) is float:
        return f"the number {value!r}"
    if type(value) in (list, tuple):
        return "a list"
    if type(value) is dict:
        return "an object"
    if type(value) is int:
        # Python refuses to print integers of thousands of digits; nobody needs to read them.
        return str(value) if abs(value) < 10**12 else "a very large number"
    return f"a {type(value).__name__}"


def validate_answers(answers: object) -> dict[str, str]:
    """Every problem with `answers`, as {offending code: plain-English message}; {} when valid."""
    if not isinstance(answers, dict):
        return {"answers": f"answers must be a JSON object of answer codes, not {_describe(answers)}."}

    errors: dict[str, str] = {}
    for code, value in answers.items():
        finding = FINDINGS_BY_CODE.get(code) if type(code) is str else None
        if finding is None:
            errors[str(code)] = f"{code} is not a known answer code."
        elif value is not None:
            problem = _type_problem(finding, value)
            if problem:
                errors[code] = problem

    for code in REQUIRED_CODES:
        if answers.get(code) is None and code not in errors:
            what = "is missing" if code not in answers else "is null"
            errors[code] = f"{code} is required and {what}; it is never assumed."

    for days_code, (event_code, nothing_happened) in _DAYS_OF_EVENT.items():
        event = answers.get(event_code)
        days_sent = answers.get(days_code) is not None
        if days_code in errors or event_code in errors:
            continue
        if event is not None and event != nothing_happened and not days_sent:
            errors[days_code] = f"{days_code} is required when {event_code} is {event}."
        elif (event is None or event == nothing_happened) and days_sent:
            errors[days_code] = (f"{days_code} was sent but {event_code} is "
                                 f"{'not given' if event is None else event}; send both or neither.")

    age = answers.get("age")
    if "age" not in errors and type(age) is int:
        longest = (age + 1) * DAYS_PER_YEAR_OF_AGE
        for code in DAY_COUNTS_BOUNDED_BY_AGE:
            days = answers.get(code)
            if code not in errors and type(days) is int and days > longest:
                errors[code] = (f"{code} is {_describe(days)} days, longer than a {age}-year-old has been alive "
                                f"(at most {longest} days).")
    return errors
