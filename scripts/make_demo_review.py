#!/usr/bin/env python3
"""Generate evreview's SYNTHETIC demo review on place-based research partnerships.

No real database export on the demo topic can be shipped, so this script invents about 300
studies (titles, abstracts, authors, journals, DOIs) and writes them out as the databases
would: a Scopus RIS file, a PubMed MEDLINE (.nbib) file, a Web of Science tagged text file and
a Zotero BibTeX file, with realistic cross-database duplicates and a few hard negatives. It
also writes the *planted truth* (which record belongs to which study, each study's codes, the
evidence-gap cells that must come out empty or thin), a later update round and two reviewers'
screening decisions, so every pipeline stage can be checked against a known answer.

Why a generator rather than hand-made files: the truth and the exports are produced from the
same objects, so they cannot drift apart, and anybody can regenerate and diff. Everything is
seeded and written with fixed newlines and sort orders: two runs give byte-identical files.
It deliberately does not use evreview's readers (it writes the formats itself, as the
databases do); the only evreview import is :func:`evreview.records.make_record_id`, so the
decision keys and truth record ids are exactly the ids ingest will assign.

Usage::

    python scripts/make_demo_review.py [--out ROOT]

``ROOT`` defaults to the repository root; files go to ``data/raw/2024-03_initial/``,
``data/demo/`` and ``data/decisions/screening.csv`` below it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import re
import textwrap
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from evreview.records import make_record_id

SEED = 20240315
ROUND1 = "2024-03_initial"
ROUND2 = "2025-03_update"
RAW1 = f"data/raw/{ROUND1}"
UPDATE_DIR = f"data/demo/update_round/{ROUND2}"
#: Where the update round's files sit once a user copies them in to re-run the review; the
#: truth's record ids for round 2 are computed for this location (that is how ingest sees them).
RAW2 = f"data/raw/{ROUND2}"
TRUTH_DIR = "data/demo/truth"
DECISIONS = "data/decisions/screening.csv"
EXPORT_DATE = {ROUND1: "15 March 2024", ROUND2: "14 March 2025"}
FILES1 = ("scopus.ris", "pubmed.nbib", "wos.txt", "scholar.bib")
FILES2 = ("scopus.ris", "pubmed.nbib")
DATABASE = {"scopus.ris": "Scopus", "pubmed.nbib": "PubMed", "wos.txt": "Web of Science",
            "scholar.bib": "Google Scholar (Zotero)"}

# --------------------------------------------------------------------------------------------
# Codebook dimensions (must match config/codebook.yaml's keys)
# --------------------------------------------------------------------------------------------

THEMES: dict[str, tuple[str, ...]] = {
    "infrastructure_systems": ("governance", "coordination_boundary_spanning", "sustainable_funding",
                               "relationship_time"),
    "skills_expertise": ("knowledge_brokering", "interpersonal_skills", "leadership",
                         "contextual_lived_knowledge"),
    "approaches": ("co_production", "cbpr", "integrated_kt"),
    "behaviours_values": ("trust", "respect_reciprocity", "transparency", "power_equity"),
}
OUTCOMES = ("individual", "organisational", "societal")
EVIDENCE = ("participant_perception", "qualitative_case_study", "independent_evaluation", "longitudinal")
STAGES = ("initiation_setup", "delivery", "evaluation_sustainment")
PLACES = ("UK", "Australia", "USA", "Canada", "Europe (other)", "Global South")
#: The place codes' ids in config/codebook.yaml (what the truth tables use).
PLACE_ID = {"UK": "uk", "Australia": "australia", "USA": "usa", "Canada": "canada", "Europe (other)": "europe",
            "Global South": "global_south"}

#: The eligibility rules the planted rule exclusions are built for (see README).
ELIGIBLE_DOC_TYPES = ("article", "review", "report", "chapter")
#: Abstract length bounds (words) for on-topic studies: long enough to code, short enough to
#: keep the committed files small.
MIN_WORDS, MAX_WORDS = 120, 185
MIN_YEAR = 2000

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

LOCATIONS: dict[str, list[tuple[str, str]]] = {
    "UK": [("Bristol", "Bristol, England"), ("Greater Manchester", "Greater Manchester, UK"),
           ("Glasgow", "Glasgow, Scotland"), ("Cardiff", "Cardiff, Wales"),
           ("Newcastle", "Newcastle upon Tyne, UK"), ("Sheffield", "Sheffield, England"),
           ("Leeds", "Leeds, United Kingdom"), ("Birmingham", "Birmingham, UK"),
           ("Belfast", "Belfast, Northern Ireland"), ("Nottingham", "Nottingham, England")],
    "Australia": [("Western Sydney", "Western Sydney, Australia"),
                  ("Geelong", "Geelong in regional Victoria, Australia"),
                  ("Brisbane", "Brisbane, Queensland, Australia"), ("Adelaide", "Adelaide, South Australia"),
                  ("Perth", "Perth, Western Australia"), ("Hobart", "Hobart, Tasmania, Australia"),
                  ("Darwin", "Darwin, Northern Territory, Australia")],
    "USA": [("Detroit", "Detroit, Michigan, USA"), ("Baltimore", "Baltimore, Maryland, United States"),
            ("eastern Kentucky", "rural eastern Kentucky, USA"), ("Chicago", "Chicago, Illinois, USA"),
            ("New Orleans", "New Orleans, Louisiana, USA"), ("the Bronx", "the Bronx, New York City, USA"),
            ("Flint", "Flint, Michigan, United States"), ("Seattle", "Seattle, Washington, USA")],
    "Canada": [("Winnipeg", "Winnipeg, Manitoba, Canada"),
               ("Thunder Bay", "Thunder Bay in northern Ontario, Canada"),
               ("Halifax", "Halifax, Nova Scotia, Canada"), ("Vancouver", "Vancouver, British Columbia, Canada"),
               ("Saskatoon", "Saskatoon, Saskatchewan, Canada"), ("Montreal", "Montreal, Quebec, Canada")],
    "Europe (other)": [("Rotterdam", "Rotterdam, the Netherlands"), ("Barcelona", "Barcelona, Spain"),
                       ("Malmö", "Malmö, Sweden"), ("Ghent", "Ghent, Belgium"), ("Aarhus", "Aarhus, Denmark"),
                       ("Vienna", "Vienna, Austria"), ("Turin", "Turin, Italy"), ("Tampere", "Tampere, Finland"),
                       ("Lyon", "Lyon, France"), ("Cork", "Cork, Ireland")],
    "Global South": [("Nairobi", "Nairobi, Kenya"), ("Cape Town", "Cape Town, South Africa"),
                     ("Dhaka", "Dhaka, Bangladesh"), ("Medellín", "Medellín, Colombia"),
                     ("Kampala", "Kampala, Uganda"), ("Accra", "Accra, Ghana"), ("Lima", "Lima, Peru"),
                     ("Pune", "Pune, India"), ("Recife", "Recife, Brazil"), ("Lusaka", "Lusaka, Zambia")],
}
COUNTRY_WORD = {"UK": "the UK", "Australia": "Australia", "USA": "the United States", "Canada": "Canada",
                "Europe (other)": "Europe", "Global South": "the Global South"}

NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "UK": (("Ahmed", "Baker", "Campbell", "Davies", "Evans", "Fletcher", "Green", "Hughes", "Jones", "Khan",
            "Lewis", "Morgan", "Patel", "Roberts", "Taylor", "Walker", "Wilson", "Murray", "Thomson",
            "O'Neill", "Begum", "Clarke", "Bennett", "McLean"),
           ("Sarah", "James", "Emma", "Rachel", "David", "Helen", "Mohammed", "Aisha", "Thomas", "Catherine",
            "Gareth", "Fiona", "Priya", "Ruth", "Oliver", "Siobhan", "Alan", "Hannah")),
    "Australia": (("Nguyen", "Smith", "Kelly", "Brown", "Wright", "Mitchell", "Chen", "Ryan", "Martin",
                   "Harris", "Walsh", "Cooper", "Singh", "Anderson", "Tran"),
                  ("Jessica", "Matthew", "Lauren", "Daniel", "Chloe", "Ben", "Mei", "Liam", "Kate",
                   "Sophie", "Andrew", "Bronwyn")),
    "USA": (("Johnson", "Williams", "Garcia", "Rodriguez", "Washington", "Kim", "Lee", "Miller", "Davis",
             "Hernandez", "Jackson", "Thompson", "Lopez", "Robinson", "Park"),
            ("Michael", "Jennifer", "Maria", "Keisha", "Robert", "Ashley", "Carlos", "Linda", "Jamal",
             "Emily", "Susan", "Marcus")),
    "Canada": (("Tremblay", "Gagnon", "MacDonald", "Roy", "Wong", "Bouchard", "Stewart", "Fraser",
                "Leblanc", "Chartrand", "Morin", "Sinclair"),
               ("Marie", "Jean", "Sarah", "Luc", "Emily", "Nathalie", "Ryan", "Kwame", "Amélie", "Colin")),
    "Europe (other)": (("Jansen", "de Vries", "García", "Müller", "Andersson", "Nielsen", "Rossi", "Dubois",
                        "Peeters", "Virtanen", "Novak", "Schmidt", "Fernández", "Bianchi", "Van den Broeck"),
                       ("Anna", "Lars", "Sofia", "Pieter", "Elena", "Mathieu", "Katrin", "Marco", "Ingrid",
                        "Joost", "Jorge", "Maja")),
    "Global South": (("Mwangi", "Otieno", "Nkosi", "Dlamini", "Rahman", "Hossain", "Banda", "Mensah", "Osei",
                      "Silva", "Santos", "Quispe", "Kumar", "Desai", "Okello"),
                     ("Grace", "Peter", "Thandiwe", "Farhana", "Kofi", "Juan", "Lucía", "Amina", "Rohan", "Ana",
                      "Joseph", "Nomvula")),
}


@dataclass(frozen=True)
class Journal:
    """A journal as the databases name it; ``doi`` is a pattern filled per article."""

    name: str
    abbrev: str
    issn: str
    doi: str
    first_year: int
    medline: bool
    article_numbers: bool = False
    structured: bool = False
    nlm_id: str = ""


J = {
    "ep": Journal("Evidence & Policy", "Evid Policy", "1744-2648", "10.1332/17442641{yy}X{n14}", 2005, False),
    "rfa": Journal("Research for All", "Res All", "2399-8121", "10.14324/RFA.{vol2}.{iss2}.{n2}", 2017, False),
    "hrps": Journal("Health Research Policy and Systems", "Health Res Policy Syst", "1478-4505",
                    "10.1186/s12961-0{yy}-0{n4}-{n1}", 2003, True, True, True, "101170481"),
    "jcp": Journal("Journal of Community Practice", "J Community Pract", "1070-5422",
                   "10.1080/10705422.{year}.{n7}", 1994, False),
    "lgs": Journal("Local Government Studies", "Local Gov Stud", "0300-3930",
                   "10.1080/03003930.{year}.{n7}", 1975, False),
    "pchp": Journal("Progress in Community Health Partnerships: Research, Education, and Action",
                    "Prog Community Health Partnersh", "1557-0541", "10.1353/cpr.{year}.00{n2}", 2007, True,
                    nlm_id="101317445"),
    "is": Journal("Implementation Science", "Implement Sci", "1748-5908", "10.1186/s13012-0{yy}-0{n4}-{n1}",
                  2006, True, True, True, "101258411"),
    "rie": Journal("Research Involvement and Engagement", "Res Involv Engagem", "2056-7529",
                   "10.1186/s40900-0{yy}-00{n3}-{n1}", 2015, True, True, True, "101708164"),
    "bmjo": Journal("BMJ Open", "BMJ Open", "2044-6055", "10.1136/bmjopen-{year}-0{n5}", 2011, True, True,
                    True, "101552874"),
    "ssm": Journal("Social Science & Medicine", "Soc Sci Med", "0277-9536",
                   "10.1016/j.socscimed.{year}.{n6}", 1967, True, nlm_id="8303205"),
    "hp": Journal("Health & Place", "Health Place", "1353-8292", "10.1016/j.healthplace.{year}.{n6}", 1995,
                  True, nlm_id="9510067"),
    "us": Journal("Urban Studies", "Urban Stud", "0042-0980", "10.1177/00420980{yy}{n6}", 1964, False),
    "gw": Journal("Gateways: International Journal of Community Research and Engagement", "Gateways",
                  "1836-3393", "10.5130/ijcre.v{vol}i{iss}.{n4}", 2008, False),
    "ajpa": Journal("Australian Journal of Public Administration", "Aust J Public Adm", "0313-6647",
                    "10.1111/1467-8500.{n5}", 1937, False),
    "cjph": Journal("Canadian Journal of Public Health", "Can J Public Health", "0008-4263",
                    "10.17269/s41997-0{yy}-00{n3}-{n1}", 1910, True, nlm_id="0372714"),
    "he": Journal("Higher Education", "High Educ", "0018-1560", "10.1007/s10734-0{yy}-00{n3}-{n1}", 1972,
                  False),
    "pmr": Journal("Public Money & Management", "Public Money Manag", "0954-0962",
                   "10.1080/09540962.{year}.{n7}", 1981, False),
    "gs": Journal("Gaceta Sanitaria", "Gac Sanit", "0213-9111", "10.1016/j.gaceta.{year}.{n2}.{n3}", 1982,
                  True, nlm_id="8901725"),
    # off-topic journals
    "lancet": Journal("The Lancet", "Lancet", "0140-6736", "10.1016/S0140-6736({yy}){n5}-{n1}", 1823, True,
                      nlm_id="2985213R"),
    "jh": Journal("Journal of Hypertension", "J Hypertens", "0263-6352", "10.1097/HJH.000000000000{n4}",
                  1983, True, nlm_id="8306882"),
    "dc": Journal("Diabetes Care", "Diabetes Care", "0149-5992", "10.2337/dc{yy}-{n4}", 1978, True,
                  nlm_id="7805975"),
    "pm": Journal("Preventive Medicine", "Prev Med", "0091-7435", "10.1016/j.ypmed.{year}.{n6}", 1972, True,
                  nlm_id="0322116"),
    "jbc": Journal("Journal of Biological Chemistry", "J Biol Chem", "0021-9258", "10.1074/jbc.M{yy}.{n6}",
                   1905, True, nlm_id="2985121R"),
    "fct": Journal("Food and Chemical Toxicology", "Food Chem Toxicol", "0278-6915",
                   "10.1016/j.fct.{year}.{n6}", 1963, True, nlm_id="8207483"),
    "ijpm": Journal("International Journal of Project Management", "Int J Proj Manag", "0263-7863",
                    "10.1016/j.ijproman.{year}.1{n5}", 1983, False),
    "tp": Journal("Transport Policy", "Transp Policy", "0967-070X", "10.1016/j.tranpol.{year}.1{n5}",
                  1993, False),
    "imm": Journal("Industrial Marketing Management", "Ind Mark Manag", "0019-8501",
                   "10.1016/j.indmarman.{year}.1{n5}", 1971, False),
    "rp": Journal("Research Policy", "Res Policy", "0048-7333", "10.1016/j.respol.{year}.1{n5}", 1971,
                  False),
    "techno": Journal("Technovation", "Technovation", "0166-4972", "10.1016/j.technovation.{year}.{n6}",
                      1981, False),
    "jmf": Journal("Journal of Marriage and Family", "J Marriage Fam", "0022-2445", "10.1111/jomf.{n5}", 1939,
                   False),
    "jfp": Journal("Journal of Family Psychology", "J Fam Psychol", "0893-3200", "10.1037/fam000{n4}", 1987,
                   True, nlm_id="8802265"),
    "jte": Journal("Journal of Teacher Education", "J Teach Educ", "0022-4871",
                   "10.1177/00224871{yy}{n6}", 1950, False),
    "bmchsr": Journal("BMC Health Services Research", "BMC Health Serv Res", "1472-6963",
                      "10.1186/s12913-0{yy}-0{n4}-{n1}", 2001, True, True, True, "101088677"),
    "hscc": Journal("Health & Social Care in the Community", "Health Soc Care Community", "0966-0410",
                    "10.1111/hsc.{n5}", 1993, True, nlm_id="9306359"),
}
ON_TOPIC_JOURNALS = (("ep", 10), ("rfa", 5), ("hrps", 9), ("jcp", 8), ("lgs", 8), ("pchp", 8), ("is", 4),
                     ("rie", 5), ("bmjo", 4), ("ssm", 5), ("hp", 5), ("us", 5), ("gw", 5), ("ajpa", 3),
                     ("cjph", 3), ("he", 4), ("pmr", 3))
STOPWORDS = {"a", "an", "the", "of", "in", "on", "and", "for", "to", "with", "from", "who", "what", "how",
             "why", "is", "are", "at", "by", "beyond", "when"}

CHALLENGES = ("housing quality", "air quality", "youth employment", "food insecurity",
              "loneliness among older people", "health inequalities", "climate adaptation", "knife crime",
              "early years services", "public transport", "green space", "child poverty", "homelessness",
              "adult social care", "flood risk", "neighbourhood regeneration")

CONTEXT = (
    "Universities, local government and communities increasingly research local challenges together "
    "through place-based partnerships.",
    "Place-based research partnerships bring academics, council officers and residents together to "
    "study problems that matter locally.",
    "Local authorities are under pressure to use evidence, and many have turned to partnerships with "
    "nearby universities and community groups.",
    "Civic universities are expected to work with their cities and regions, yet little is known about how "
    "such collaborations operate in practice.",
    "Collaborations between researchers, municipalities and community organisations are promoted as a "
    "way to tackle local inequalities.",
    "Joint research between higher education institutions, local public bodies and the voluntary sector "
    "is widely encouraged by funders.",
)
AIM = {
    "initiation_setup": (
        "This paper examines how a partnership between {univ} and {council} in {loc} was established, "
        "from early scoping conversations to agreeing shared aims.",
        "We studied the first {months} months of a new collaboration on {challenge} in {loc}, from initial "
        "contacts to the launch of its first joint projects.",
        "We describe how partners in {loc} set up a research collaboration on {challenge}: how they found "
        "each other, negotiated priorities and created structures.",
    ),
    "delivery": (
        "This paper examines how a partnership between {univ} and {council} in {loc} worked while joint "
        "projects on {challenge} were being delivered.",
        "We studied the day-to-day operation of a research collaboration on {challenge} in {loc} during "
        "its programme of joint projects.",
        "We explore how an established collaboration in {loc} carried out research on {challenge} with "
        "residents and officers.",
    ),
    "evaluation_sustainment": (
        "This paper examines what happened to a partnership between {univ} and {council} in {loc} after "
        "its initial funding for work on {challenge} ended.",
        "We studied how a research collaboration on {challenge} in {loc} was sustained, and what legacy it "
        "left, at the end of its funded phase.",
        "We assess the continuation and longer-term effects of a partnership in {loc} that researched "
        "{challenge} over several years.",
    ),
}
METHODS = {
    "participant_perception": (
        "We surveyed {n} partners from universities, local government and community organisations about "
        "their experiences of the collaboration.",
        "Semi-structured interviews with {n} academics, council officers and community members explored "
        "their perceptions of what helped and hindered the work.",
        "Focus groups and an online questionnaire captured the views of {n} people involved in the "
        "partnership.",
        "Partners were invited to evaluate the collaboration themselves: {n} completed a questionnaire "
        "on their experiences and satisfaction.",
    ),
    "qualitative_case_study": (
        "This qualitative case study drew on {n} interviews, observation of partnership meetings and "
        "documentary analysis.",
        "We report an in-depth case study combining ethnographic fieldwork, {n} interviews and analysis of "
        "minutes and reports.",
        "Using a comparative case study design, we analysed documents and {n} interviews across three "
        "neighbourhood projects.",
        "Ethnographic fieldwork over {months} months, {n} interviews and close reading of meeting minutes "
        "formed the basis of this qualitative study.",
        "We draw on participant observation, {n} in-depth interviews and project documents to give a thick "
        "description of one partnership.",
    ),
    "independent_evaluation": (
        "An independent evaluation commissioned by the funder used mixed methods, including {n} interviews, "
        "a partner survey and analysis of monitoring data.",
        "External evaluators assessed the programme against its logic model in a theory-based realist "
        "evaluation drawing on {n} interviews.",
        "An evaluation team with no role in the programme combined routine data, a survey and {n} "
        "stakeholder interviews to judge what the partnership achieved.",
        "An external research team, independent of the partners and commissioned by the funder, assessed "
        "outcomes against the programme's aims using {n} interviews and monitoring data.",
    ),
    "longitudinal": (
        "We followed the partnership for {years} years with repeated interviews and annual partner surveys.",
        "This longitudinal study tracked {n} partners across three waves of data collection between "
        "{y1} and {y2}.",
        "Data were collected at regular intervals over {years} years, allowing change in the collaboration "
        "to be traced over time.",
        "Repeated evaluation rounds in {y1}, {y2} and the years between followed the same {n} partners, "
        "so that changes could be compared across waves.",
    ),
}
REVIEW_METHODS = (
    "We conducted a systematic review of {n} studies identified through searches of six databases and "
    "grey literature.",
    "This scoping review mapped {n} studies following PRISMA-ScR guidance, with dual screening and "
    "charting.",
    "A realist synthesis of {n} reports examined what works, for whom and in what circumstances.",
)
FINDINGS: dict[str, tuple[str, ...]] = {
    "governance": (
        "Partners set up a joint steering group with written terms of reference, which clarified who "
        "decided on research priorities.",
        "Formal agreements on data sharing and intellectual property took longer to negotiate than "
        "anyone expected.",
        "A shared board of council officers, academics and resident representatives oversaw the programme, "
        "although decision rules were contested at first.",
        "Memoranda of understanding and clear escalation routes were described as the backbone of the "
        "collaboration.",
    ),
    "coordination_boundary_spanning": (
        "Embedded researchers based inside the council acted as a bridge between academic and municipal "
        "timetables.",
        "A dedicated partnership manager coordinated meetings, brokered introductions and kept projects "
        "moving between organisations.",
        "Staff in boundary-spanning posts moved between institutional cultures but said their roles were "
        "precarious and poorly recognised.",
    ),
    "sustainable_funding": (
        "Short grant cycles left the partnership dependent on a succession of small pots of money.",
        "Core funding from the university and the local authority paid for staff time between projects.",
        "When seed money ran out, several workstreams stalled because no partner had budgeted for them.",
    ),
    "relationship_time": (
        "Partners stressed that months of informal meetings were needed before joint projects could begin.",
        "Workload models rarely recognised the hours academics spent getting to know officers and residents.",
        "Relationships took time to build and were set back whenever key people moved on.",
    ),
    "knowledge_brokering": (
        "Knowledge brokers synthesised evidence into short briefings that officers could use in committee "
        "papers.",
        "Intermediary staff turned questions from practice into researchable projects and carried findings "
        "back in usable formats.",
        "Brokering work, such as hosting evidence cafes and translating jargon, made research visible to "
        "elected members.",
    ),
    "interpersonal_skills": (
        "Listening, negotiating and handling conflict were valued more highly than technical research "
        "expertise.",
        "Participants described communication skills, patience and humility as essential when working with "
        "residents.",
        "Facilitation skills helped meetings to include people who were not used to academic debate.",
    ),
    "leadership": (
        "Distributed leadership across the university and the council helped the partnership survive changes "
        "of senior staff.",
        "Champions at director level opened doors and protected time for staff to take part.",
        "Leaders who modelled openness encouraged others to take risks on new ways of working.",
    ),
    "contextual_lived_knowledge": (
        "Residents' lived experience of the neighbourhood reshaped research questions and data collection "
        "tools.",
        "Officers' knowledge of local systems and history helped academics to interpret findings in context.",
        "Community researchers recruited from the area brought local knowledge that outside teams lacked.",
    ),
    "co_production": (
        "Research questions, methods and outputs were co-produced in workshops with residents, officers and "
        "academics.",
        "Co-design of the study meant that community partners shaped the sampling and the interpretation of "
        "results.",
        "Working together at every stage, from framing to dissemination, was described as slower but more "
        "relevant.",
    ),
    "cbpr": (
        "Following community-based participatory research principles, community members were trained and "
        "paid as co-investigators.",
        "A participatory action research cycle of planning, acting and reflecting structured the work.",
        "Residents led data collection in their own streets, in line with participatory research traditions.",
    ),
    "integrated_kt": (
        "Knowledge users from the local authority were involved from the outset so that findings fed "
        "directly into decisions, an integrated knowledge translation approach.",
        "Decision-makers helped to frame the research questions and met the team regularly to discuss "
        "emerging evidence.",
        "Embedding policy users in the research team shortened the path from findings to action.",
    ),
    "trust": (
        "Trust was built gradually through small joint successes and was easily damaged by broken promises.",
        "Partners described mutual confidence as the precondition for sharing sensitive data.",
        "A history of extractive research had left residents wary, and trust had to be earned.",
    ),
    "respect_reciprocity": (
        "Reciprocity, in which each partner gained something tangible, sustained commitment.",
        "Community partners valued being treated as equals and being paid for their time.",
        "Mutual respect for different kinds of expertise was repeatedly named as what made the work possible.",
    ),
    "transparency": (
        "Open reporting of budgets and decisions reduced suspicion between partners.",
        "Being candid about what the university could and could not deliver helped to manage expectations.",
    ),
    "power_equity": (
        "Power imbalances between the university and community organisations shaped whose questions were "
        "pursued.",
        "Equity concerns included who controlled the budget, who was named as author and who benefited "
        "from the findings.",
        "Sharing decision-making power with residents was an explicit aim but was only partly achieved.",
    ),
}
OUTCOME_TEXT = {
    "individual": (
        "At the individual level, researchers and practitioners reported new skills, confidence and career "
        "opportunities.",
        "Residents who took part gained research skills, and some moved into paid roles.",
        "Officers said they had become more confident in finding and using evidence.",
    ),
    "organisational": (
        "Organisational changes included new council procedures for commissioning research and university "
        "recognition of engaged scholarship.",
        "The council created a small evidence team and the university adjusted its workload model.",
        "Partner organisations changed how they planned services and shared data with each other.",
    ),
    "societal": (
        "Findings informed a local strategy on {challenge} and changes to public services.",
        "Wider effects included changes to local policy, new services for residents and improved community "
        "wellbeing.",
        "The work contributed to city-wide decisions on {challenge} that affected thousands of residents.",
    ),
}
CONCLUSIONS = (
    "Place-based research partnerships need deliberate attention to these conditions if they are to last.",
    "We offer practical lessons for universities, councils and community groups planning similar work.",
    "The findings challenge the assumption that proximity alone makes collaboration easy.",
    "Funders and institutions should recognise this work as core rather than peripheral activity.",
    "These insights can inform the design of future civic research partnerships.",
)
FILLER = (
    "Partners from the university, the local council and community organisations all took part.",
    "The partnership involved academics from several disciplines as well as public sector staff.",
    "Local context, including recent austerity and political change, shaped what was possible.",
    "The case for such partnerships has so far rested more on advocacy than on evidence.",
    "Few evaluations have looked at how such arrangements work from the inside.",
)
TITLE_LEADS: dict[str, tuple[str, ...]] = {
    "governance": ("Governing place-based research partnerships",
                   "Who sets the agenda? Governance of a university-council research collaboration",
                   "Steering groups, agreements and accountability in local research partnerships"),
    "coordination_boundary_spanning": ("Embedded researchers in local government",
                                       "Boundary spanners between universities and city councils",
                                       "The work of partnership coordinators in civic research collaborations"),
    "sustainable_funding": ("Funding the long haul in local research partnerships",
                            "Beyond seed funding: resourcing university-community-council collaborations",
                            "Money, staff and continuity in place-based research partnerships"),
    "relationship_time": ("Slow research: time for relationships in place-based partnerships",
                          "Making time for relationships in university-local government collaborations"),
    "knowledge_brokering": ("Knowledge brokering between universities and local authorities",
                            "Brokers, intermediaries and evidence use in local government",
                            "Translating research for councils: knowledge brokers at work"),
    "interpersonal_skills": ("The interpersonal work of research partnerships",
                             "Listening, negotiating, caring: skills for community-university research",
                             "Working across sectors on local research: the skills that matter"),
    "leadership": ("Leadership in civic research partnerships",
                   "Distributed leadership across a university-council collaboration",
                   "Champions and senior sponsors in place-based research"),
    "contextual_lived_knowledge": ("Lived experience and local knowledge in community research",
                                   "Community researchers and neighbourhood knowledge",
                                   "Whose expertise counts? Lived experience in university-community "
                                   "partnerships"),
    "co_production": ("Co-producing research with residents and councils",
                      "Co-production in practice in a local research partnership",
                      "Doing co-production across universities, councils and communities"),
    "cbpr": ("Community-based participatory research with local government partners",
             "Participatory action research in a neighbourhood partnership",
             "Residents as co-investigators in community-based participatory research"),
    "integrated_kt": ("Integrated knowledge translation with municipal decision-makers",
                      "Researchers and decision-makers together in local government research",
                      "Engaging knowledge users from the start in city research"),
    "trust": ("Trust and mistrust between universities and communities",
              "Earning trust in a place-based research collaboration",
              "Trust as infrastructure in local research partnerships"),
    "respect_reciprocity": ("Reciprocity and respect in community-university research",
                            "What do partners get back? Mutual benefit in place-based research",
                            "Respectful partnerships with community organisations"),
    "transparency": ("Transparency and openness in research partnerships with councils",
                     "Open books: transparency in university-local government collaboration"),
    "power_equity": ("Power and equity in place-based research partnerships",
                     "Sharing power between universities and communities",
                     "Equity in community-university-council research: who benefits?"),
}
TITLE_SUFFIX = {
    "participant_perception": ("partners' perspectives", "a survey of partners", "an interview study",
                               "perspectives of academics, officers and residents"),
    "qualitative_case_study": ("a qualitative case study", "an ethnographic case study",
                               "lessons from a case study", "a comparative case study"),
    "independent_evaluation": ("findings from an independent evaluation", "a realist evaluation",
                               "a mixed-methods programme evaluation"),
    "longitudinal": ("a longitudinal study", "a five-year follow-up", "tracking a partnership over time"),
    "review": ("a systematic review", "a scoping review", "a realist synthesis"),
}
KEYWORDS = {
    "governance": ("governance", "partnership agreements"),
    "coordination_boundary_spanning": ("boundary spanning", "embedded researchers"),
    "sustainable_funding": ("research funding", "sustainability"),
    "relationship_time": ("relationship building", "time"),
    "knowledge_brokering": ("knowledge brokering", "evidence use"),
    "interpersonal_skills": ("interpersonal skills", "facilitation"),
    "leadership": ("leadership", "champions"),
    "contextual_lived_knowledge": ("lived experience", "local knowledge"),
    "co_production": ("co-production", "co-design"),
    "cbpr": ("community-based participatory research", "participatory action research"),
    "integrated_kt": ("integrated knowledge translation", "knowledge users"),
    "trust": ("trust", "relationships"),
    "respect_reciprocity": ("reciprocity", "mutual benefit"),
    "transparency": ("transparency", "accountability"),
    "power_equity": ("power", "equity"),
}
GENERIC_KW = ("research partnerships", "local government", "community engagement", "universities",
              "place-based research", "civic university", "research impact", "collaboration")

# Off-topic categories: (label, journals, title templates, abstract sentences)
OFF_TOPIC: dict[str, dict[str, tuple[str, ...]]] = {
    "clinical_trial": {
        "journals": ("lancet", "jh", "dc", "pm", "bmjo"),
        "titles": ("A cluster randomised trial of {intervention} for {condition} in {loc}",
                   "Effect of {intervention} on {condition}: a pragmatic randomised controlled trial",
                   "{Intervention} delivered in partnership with primary care for {condition}: a "
                   "randomised trial"),
        "sentences": (
            "We randomly assigned {n} adults with {condition} to {intervention} or usual care.",
            "The primary outcome was the change in a validated clinical measure at 12 months.",
            "Participants were recruited from general practices and community clinics in {loc}.",
            "At follow-up, the intervention group showed a modest improvement (mean difference 0.{d}, 95% "
            "CI 0.1 to 0.{d2}).",
            "Adverse events were rare and similar between groups.",
            "The trial was delivered in partnership with local health services and was registered "
            "prospectively.",
            "Secondary outcomes included quality of life, medication adherence and health service use.",
            "These results support wider implementation of {intervention} for people with {condition}.",
        ),
    },
    "lab_study": {
        "journals": ("jbc", "fct"),
        "titles": ("{Compound} attenuates {process} in {model}",
                   "Mechanisms of {process} in {model} exposed to {compound}",
                   "Dose-dependent effects of {compound} on {process} in {model}"),
        "sentences": (
            "We exposed {model} to increasing concentrations of {compound} for 24 to 72 hours.",
            "Markers of {process} were measured by western blotting and quantitative PCR.",
            "{Compound} reduced {process} in a dose-dependent manner.",
            "Pathway analysis implicated oxidative stress signalling and mitochondrial function.",
            "Knockdown experiments confirmed the role of a key transcription factor.",
            "These findings identify a candidate mechanism for protective effects observed in vivo.",
            "Further work is needed to establish relevance for human exposure.",
        ),
    },
    "business_partnership": {
        "journals": ("ijpm", "tp", "imm"),
        "titles": ("Risk allocation in public-private partnerships for {asset}: evidence from {country}",
                   "Partnership performance in {industry} supply chains",
                   "Local government procurement and public-private partnership contracts for {asset}"),
        "sentences": (
            "Public-private partnerships are widely used to finance and deliver {asset}.",
            "We analysed {n} contracts signed between {y1} and {y2} in {country}.",
            "Risk transfer to the private partner was associated with higher bid prices.",
            "Renegotiation was common when demand forecasts proved optimistic.",
            "Strategic alliances between firms depended on contractual safeguards and relational norms.",
            "Local authorities with more procurement expertise obtained better value for money.",
            "Implications for partnership contract design and regulation are discussed.",
        ),
    },
    "university_industry": {
        "journals": ("rp", "techno"),
        "titles": ("University-industry partnerships and patenting output in {country}",
                   "Technology transfer offices and spin-off formation in {country}",
                   "Collaborative research agreements between firms and universities in the {industry} "
                   "sector"),
        "sentences": (
            "Universities increasingly partner with firms to commercialise research.",
            "Using panel data on {n} universities from {y1} to {y2}, we estimate effects on patents and "
            "licences.",
            "Industry co-funding was associated with more patents but fewer publications.",
            "Technology transfer office capacity moderated the relationship.",
            "Regional innovation systems shaped which firms formed partnerships.",
            "We discuss implications for innovation policy and academic entrepreneurship.",
        ),
    },
    "couples": {
        "journals": ("jmf", "jfp"),
        "titles": ("Partnership quality and wellbeing among cohabiting couples in {country}",
                   "Relationship satisfaction across the transition to parenthood in {country}",
                   "Partnership dissolution and {health} in later life: evidence from {country}"),
        "sentences": (
            "Partnership quality is an important determinant of adult wellbeing.",
            "We used {n} couples from a national household panel study.",
            "Dyadic models estimated associations between relationship satisfaction and depressive symptoms.",
            "Couples who shared household labour more equally reported higher satisfaction.",
            "Effects were stronger for women than for men.",
            "Findings inform family policy and couple-focused interventions.",
        ),
    },
    "teacher_education": {
        "journals": ("jte",),
        "titles": ("School-university partnerships in initial teacher education in {country}",
                   "Mentoring student teachers in school-university partnerships in {country}",
                   "Partnership schools and {subject} teacher preparation"),
        "sentences": (
            "School-university partnerships are central to initial teacher education.",
            "We interviewed {n} mentors and student teachers in partnership schools.",
            "Mentors valued clear expectations and joint assessment of placements.",
            "Student teachers reported tension between university coursework and classroom practice.",
            "Partnership arrangements varied in how responsibilities were shared.",
            "We propose a framework for strengthening clinical practice in teacher preparation.",
        ),
    },
    "care_integration": {
        "journals": ("bmchsr", "hscc"),
        "titles": ("Integrating health and social care through local partnership boards: effects on "
                   "{care_outcome}",
                   "Joint commissioning between health services and local authorities: {care_outcome} in "
                   "{country}",
                   "Pooled budgets and {care_outcome} in integrated care partnerships"),
        "sentences": (
            "Integration of health and social care is a policy priority in many countries.",
            "We analysed routine data from {n} local areas using difference-in-differences methods.",
            "Partnership boards and pooled budgets were not associated with fewer delayed discharges.",
            "Emergency admissions among older people continued to rise during the study period.",
            "Local managers described organisational barriers to joint commissioning.",
            "Integration policies may need longer time frames to show effects.",
        ),
    },
}
OFF_FILL = {
    "intervention": ("a community health worker programme", "a pharmacist-led medication review",
                     "text-message reminders", "a school-based physical activity programme",
                     "a digital self-management app", "group-based lifestyle coaching"),
    "condition": ("type 2 diabetes", "hypertension", "childhood obesity", "asthma", "depression in older adults",
                  "chronic kidney disease"),
    "compound": ("quercetin", "resveratrol", "curcumin", "bisphenol A", "sulforaphane", "cadmium chloride"),
    "process": ("oxidative stress", "apoptosis", "inflammatory signalling", "lipid accumulation",
                "autophagy"),
    "model": ("murine hepatocytes", "human endothelial cells", "zebrafish larvae", "rat cardiomyocytes",
              "intestinal organoids"),
    "asset": ("toll roads", "hospitals", "water infrastructure", "light rail", "waste management facilities"),
    "industry": ("automotive", "food retail", "aerospace", "construction", "pharmaceutical"),
    "health": ("mental health", "physical health", "mortality", "loneliness"),
    "subject": ("mathematics", "science", "primary", "special needs", "languages"),
    "care_outcome": ("delayed discharges", "emergency admissions", "care home placements",
                     "length of stay"),
    "country": ("the UK", "Australia", "the United States", "Canada", "Spain", "Brazil", "India", "Germany"),
}


#: Interchangeable wordings, applied at random per occurrence so that studies sharing a
#: sentence template still read differently (a text model must generalise, not memorise).
SYNONYMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("council officers", ("local authority staff", "municipal officials", "public servants")),
    ("residents", ("community members", "local people", "citizens")),
    ("academics", ("university researchers", "researchers", "scholars")),
    ("the council", ("the local authority", "the municipality")),
    ("collaboration", ("partnership",)),
    ("findings", ("results", "evidence")),
    ("essential", ("vital", "crucial")),
    ("reported", ("described", "noted")),
    ("stressed", ("emphasised", "insisted")),
    ("valued", ("appreciated", "prized")),
)
_SYNONYM_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w, _ in SYNONYMS) + r")\b")


def vary(text: str, rng: random.Random) -> str:
    """Swap some stock phrases for synonyms (each occurrence independently, half the time)."""
    table = dict(SYNONYMS)

    def swap(match: re.Match[str]) -> str:
        word = match.group(1)
        return rng.choice(table[word]) if rng.random() < 0.5 else word

    return _SYNONYM_RE.sub(swap, text)


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass
class Study:
    """One planted study: what it is (truth) and its bibliographic details."""

    key: str
    title: str
    abstract: str
    authors: list[tuple[str, str]]  # (surname, given names)
    year: int
    journal: Journal
    volume: str
    issue: str
    pages: tuple[str, str]  # (first, last); last "" for article numbers
    doi: str
    keywords: list[str]
    on_topic: bool
    kind: str = "primary"  # primary, review, off_topic
    doc_type: str = "article"  # article, review, conference, editorial, erratum, letter, report
    language: str = "eng"
    exclude_rule: str = ""
    themes: list[str] = field(default_factory=list)
    subthemes: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    evidence_type: str = ""
    stage: str = ""
    place: str = ""
    off_topic_category: str = ""
    hard_negative_of: str = ""
    note: str = ""
    pmid: str = ""
    first_round: str = ROUND1
    month: int = 1
    institution: str = ""  # grey literature: the publishing body
    location: tuple[str, str] = ("", "")  # (city, location phrase) named in the abstract
    pubmed_title: str = ""  # MEDLINE's bracketed English title for non-English articles


@dataclass
class Copy:
    """One record of a study in one export file, with the variations applied to it."""

    study: Study
    search: str
    file: str
    variations: list[str] = field(default_factory=list)
    title: str = ""
    doi: str = ""
    year: int = 0
    abstract: str = ""
    journal_abbrev: bool = False
    pages_endash: bool = False
    source_index: int = -1


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def ascii_fold(text: str) -> str:
    """ASCII transliteration (citation keys, WoS-style author names)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def title_key(text: str) -> str:
    """Folded title for uniqueness checks."""
    return re.sub(r"[^a-z0-9]+", " ", ascii_fold(text).lower()).strip()


def country_phrase(loc: str) -> str:
    """The last part of a location, as a title would say it (``the UK``, ``Kenya``)."""
    last = loc.split(", ")[-1]
    return f"the {last}" if last in ("UK", "USA", "United States", "United Kingdom") else last


def word_count(text: str) -> int:
    return len(text.split())


def initials(given: str) -> list[str]:
    """Initials of the given names (``"Sarah L."`` -> ``["S", "L"]``)."""
    return [part[0] for part in re.split(r"[\s.\-]+", given) if part]


def fill_doi(rng: random.Random, journal: Journal, year: int, volume: str, issue: str) -> str:
    """A DOI following the journal's real pattern."""
    def digits(n: int) -> str:
        return "".join(str(rng.randrange(10)) for _ in range(n))

    values = {"year": str(year), "yy": f"{year % 100:02d}", "vol": volume, "iss": issue or "1",
              "vol2": f"{int(volume):02d}", "iss2": f"{int(issue or 1):02d}"}
    values.update({f"n{k}": digits(k) for k in (1, 2, 3, 4, 5, 6, 7, 14)})
    return journal.doi.format(**values)


def make_typo(rng: random.Random, title: str) -> str:
    """A realistic one-character slip in a longer word (transposition or dropped letter)."""
    words = title.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    i = rng.choice(candidates)
    word = words[i]
    j = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        word = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    else:
        word = word[:j] + word[j + 1:]
    words[i] = word
    return " ".join(words)


class Generator:
    """Builds the studies, their copies and all output files from one seeded RNG."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.studies: list[Study] = []
        self.titles: set[str] = set()
        self.dois: set[str] = set()
        self.pmids: set[str] = set()
        self.counter = 0

    # ---------------------------------------------------------------- authors, journals, ids

    def authors_for(self, place: str, n: int) -> list[tuple[str, str]]:
        rng = self.rng
        out: list[tuple[str, str]] = []
        while len(out) < n:
            pool = place if (not out and rng.random() < 0.85) or rng.random() < 0.6 else rng.choice(
                ("UK", "USA"))
            surnames, givens = NAMES[pool]
            given = rng.choice(givens)
            if rng.random() < 0.4:
                given += " " + rng.choice("ABCDEFGHJKLMNPRSTW") + "."
            name = (rng.choice(surnames), given)
            if name[0] not in {a[0] for a in out}:
                out.append(name)
        return out

    def new_key(self) -> str:
        self.counter += 1
        return f"D{self.counter:03d}"

    def biblio(self, journal: Journal, year: int) -> tuple[str, str, tuple[str, str], str]:
        """Volume, issue, pages and DOI (empty for ~15%) for an article in ``journal``."""
        rng = self.rng
        volume = str(max(1, year - journal.first_year + 1))
        issue = "" if journal.article_numbers else str(rng.randint(1, 6))
        if journal.article_numbers:
            pages = (str(rng.randint(1, 250)), "")
        else:
            first = rng.randint(1, 880)
            pages = (str(first), str(first + rng.randint(8, 24)))
        doi = ""
        if rng.random() < 0.86 or journal.article_numbers:
            doi = self.unique_doi(journal, year, volume, issue)
            self.dois.add(doi)
        if journal.abbrev == "BMJ Open":  # BMJ Open's e-number is the DOI's last part
            pages = ("e" + doi.rsplit("-", 1)[1], "")
        return volume, issue, pages, doi

    def unique_doi(self, journal: Journal, year: int, volume: str, issue: str) -> str:
        """A DOI no earlier study has: drawn again on a clash (a subclass may do otherwise)."""
        doi = ""
        while not doi or doi in self.dois:
            doi = fill_doi(self.rng, journal, year, volume, issue)
        return doi

    def pmid_for(self, year: int) -> str:
        while True:
            base = 15_600_000 + (year - 2005) * 1_200_000 if year >= 2005 else 9_000_000 + (year - 1998) * 450_000
            pmid = str(base + self.rng.randint(0, 1_100_000))
            if pmid not in self.pmids:
                self.pmids.add(pmid)
                return pmid

    def unique_title(self, make: object) -> str:
        for _ in range(200):
            title = make()  # type: ignore[operator]
            if title_key(title) not in self.titles:
                self.titles.add(title_key(title))
                return title
        raise RuntimeError("could not make a unique title")

    # ---------------------------------------------------------------- on-topic studies

    def draw_codes(self, *, stage: str | None = None, evidence: str | None = None) -> dict[str, object]:
        """Draw a study's codes, enforcing the planted gaps.

        Planted constraints: (1) no longitudinal study of initiation_setup (absolute gap);
        (2) initiation_setup is rare (~9%); (3) independent evaluations almost never code
        infrastructure_systems (implementation specifics thin); reviews avoid
        behaviours_values x organisational (synthesis gap) -- see :meth:`draw_review_codes`.
        """
        rng = self.rng
        if stage is None:
            stage = rng.choices(STAGES, weights=(9, 52, 39))[0]
        if evidence is None:
            evidence = rng.choices(EVIDENCE, weights=(32, 38, 17, 13))[0]
            while stage == "initiation_setup" and evidence == "longitudinal":
                evidence = rng.choices(EVIDENCE, weights=(32, 38, 17, 13))[0]
        theme_names = list(THEMES)
        primary = rng.choices(theme_names, weights=(28, 22, 28, 22))[0]
        if evidence == "independent_evaluation" and primary == "infrastructure_systems":
            primary = rng.choice(theme_names[1:])
        themes = [primary]
        if rng.random() < 0.45:
            other = rng.choice([t for t in theme_names if t != primary])
            if not (evidence == "independent_evaluation" and other == "infrastructure_systems"):
                themes.append(other)
        subthemes: list[str] = []
        for theme in themes:
            subs = THEMES[theme]
            weights = [1 if s in ("sustainable_funding", "relationship_time") else 3 for s in subs]
            chosen = rng.choices(subs, weights=weights)[0]
            subthemes.append(chosen)
            if rng.random() < 0.3:
                second = rng.choice([s for s in subs if s != chosen])
                if second not in ("sustainable_funding", "relationship_time"):
                    subthemes.append(second)
        outcomes = [rng.choices(OUTCOMES, weights=(35, 35, 30))[0]]
        if rng.random() < 0.4:
            outcomes.append(rng.choice([o for o in OUTCOMES if o != outcomes[0]]))
        outcomes = [o for o in OUTCOMES if o in outcomes]
        place = rng.choices(PLACES, weights=(30, 14, 22, 12, 12, 10))[0]
        return {"stage": stage, "evidence_type": evidence, "themes": themes, "subthemes": subthemes,
                "outcomes": outcomes, "place": place}

    def on_topic_text(self, codes: dict[str, object], year: int, review: bool) -> tuple[str, str, list[str]]:
        """Title, abstract (120-250 words) and keywords written from the codes."""
        rng = self.rng
        place = str(codes["place"])
        city, loc = codes.get("location") or rng.choice(LOCATIONS[place])  # type: ignore[misc]
        codes["location"] = (city, loc)
        challenge = rng.choice(CHALLENGES)
        subthemes = list(codes["subthemes"])  # type: ignore[arg-type]
        evidence = "review" if review else str(codes["evidence_type"])
        stage = str(codes["stage"])
        univ = rng.choice((f"the University of {city}", "two local universities", "a civic university",
                           f"a university in {city}"))
        council = rng.choice((f"{city} City Council", "the local authority", "the municipality",
                              "the county council", f"{city}'s city government"))
        fill = {"univ": univ, "council": council, "loc": loc, "challenge": challenge,
                "months": rng.choice((6, 9, 12, 18, 24)), "n": rng.randint(12, 160),
                "years": rng.randint(3, 8), "y1": year - rng.randint(4, 7), "y2": year - 1}

        def make_title() -> str:
            lead = rng.choice(TITLE_LEADS[subthemes[0]])
            suffix = rng.choice(TITLE_SUFFIX[evidence])
            form = rng.randrange(4)
            if review:
                region = COUNTRY_WORD[place]
                return f"{lead}: {suffix} of studies from {region}"
            if form == 0:
                return f"{lead} in {city}: {suffix}"
            if form == 1:
                return f"{lead}: {suffix} from {country_phrase(loc)}"
            if form == 2:
                return f"{lead}: {suffix}"
            return f"{lead} in {loc}"

        title = self.unique_title(make_title)
        parts = [rng.choice(CONTEXT)]
        if review:
            parts.append(rng.choice((
                f"This review synthesises evidence on place-based research partnerships in "
                f"{COUNTRY_WORD[place]}, including work on {challenge}.",
                f"We brought together published studies of university, council and community research "
                f"partnerships in {COUNTRY_WORD[place]}.",
                f"Evidence on collaborations between universities, local government and communities in "
                f"{COUNTRY_WORD[place]} is scattered; we aimed to draw it together.",
            )))
            parts.append(rng.choice(REVIEW_METHODS).format(**fill))
            stage_words = {"initiation_setup": "how partnerships were set up",
                           "delivery": "how partnerships operated during delivery",
                           "evaluation_sustainment": "how partnerships were sustained and evaluated"}
            parts.append(f"Most included studies described {stage_words[stage]}.")
        else:
            parts.append(rng.choice(AIM[stage]).format(**fill))
            parts.append(rng.choice(METHODS[evidence]).format(**fill))
        findings = []
        for sub in subthemes:
            findings.extend(rng.sample(FINDINGS[sub], k=min(2, len(FINDINGS[sub]))))
        parts.extend(findings)
        for outcome in codes["outcomes"]:  # type: ignore[attr-defined]
            parts.append(rng.choice(OUTCOME_TEXT[outcome]).format(**fill))
        parts.append(rng.choice(CONCLUSIONS))
        fillers = list(FILLER)
        rng.shuffle(fillers)
        while word_count(" ".join(parts)) < MIN_WORDS + 5 and fillers:
            parts.insert(2, fillers.pop())
        while word_count(" ".join(parts)) > MAX_WORDS and len(findings) > 1:
            parts.remove(findings.pop())
        abstract = vary(" ".join(parts), rng)
        keywords = []
        for sub in subthemes:
            keywords.append(rng.choice(KEYWORDS[sub]))
        keywords += rng.sample(GENERIC_KW, k=rng.randint(1, 3))
        keywords.append(city if rng.random() < 0.5 else loc.split(", ")[-1])
        return title, abstract, list(dict.fromkeys(keywords))

    def add_on_topic(self, *, year: int | None = None, kind: str = "primary", **force: object) -> Study:
        rng = self.rng
        review = kind == "review"
        codes = self.draw_review_codes() if review else self.draw_codes(
            stage=force.pop("stage", None), evidence=force.pop("evidence", None))  # type: ignore[arg-type]
        codes.update({k: v for k, v in force.items()
                      if k in ("themes", "subthemes", "outcomes", "place", "location")})
        year = year or rng.randint(2005, 2024)
        title, abstract, keywords = self.on_topic_text(codes, year, review)
        jkey = rng.choices([k for k, _ in ON_TOPIC_JOURNALS], weights=[w for _, w in ON_TOPIC_JOURNALS])[0]
        journal = J[jkey]
        if year < journal.first_year + 1:
            journal = J[rng.choice(("lgs", "jcp", "ssm"))]
        volume, issue, pages, doi = self.biblio(journal, year)
        study = Study(
            key=self.new_key(), title=title, abstract=abstract,
            authors=self.authors_for(str(codes["place"]), rng.randint(1, 6)), year=year, journal=journal,
            volume=volume, issue=issue, pages=pages, doi=doi, keywords=keywords, on_topic=True, kind=kind,
            doc_type="review" if review else "article",
            evidence_type="review" if review else str(codes["evidence_type"]),
            stage=str(codes["stage"]), place=str(codes["place"]), themes=list(codes["themes"]),
            subthemes=list(codes["subthemes"]), outcomes=list(codes["outcomes"]),
            month=rng.randint(1, 12), location=codes["location"],  # type: ignore[arg-type]
        )
        if journal.medline:
            study.pmid = self.pmid_for(year)
        self.studies.append(study)
        return study

    def draw_review_codes(self) -> dict[str, object]:
        """Codes of a review: never behaviours_values x organisational (the planted synthesis gap)."""
        codes = self.draw_codes(evidence="review")
        codes["stage"] = self.rng.choice(("delivery", "evaluation_sustainment"))
        if "behaviours_values" in codes["themes"]:  # type: ignore[operator]
            outs = [o for o in codes["outcomes"] if o != "organisational"]  # type: ignore[attr-defined]
            codes["outcomes"] = outs or ["individual"]
        return codes

    # ---------------------------------------------------------------- off-topic studies

    def add_off_topic(self, category: str, year: int | None = None) -> Study:
        rng = self.rng
        spec = OFF_TOPIC[category]
        year = year or rng.randint(2005, 2024)
        place = rng.choices(PLACES, weights=(30, 14, 22, 12, 12, 10))[0]
        _city, loc = rng.choice(LOCATIONS[place])
        fill: dict[str, str] = {}

        def make_title() -> str:
            # Redraw the slot fillers on every attempt so that a clash can be resolved.
            fill.clear()
            fill.update({k: rng.choice(v) for k, v in OFF_FILL.items()})
            fill.update({"Intervention": fill["intervention"][0].upper() + fill["intervention"][1:],
                         "Compound": fill["compound"][0].upper() + fill["compound"][1:],
                         "loc": loc, "n": str(rng.randint(40, 2400)), "y1": str(year - rng.randint(8, 15)),
                         "y2": str(year - 2), "d": str(rng.randint(3, 6)), "d2": str(rng.randint(7, 9))})
            return rng.choice(spec["titles"]).format(**fill)

        title = self.unique_title(make_title)
        sentences = list(spec["sentences"])
        abstract = " ".join(s.format(**fill) for s in sentences)
        extra = ["Local partners and community stakeholders were consulted during the design of the study.",
                 "The study was conducted in collaboration with regional organisations.",
                 "Limitations include the observational design and possible residual confounding.",
                 "Data were analysed by investigators blinded to group allocation where possible.",
                 "Sensitivity analyses gave similar results.",
                 "Ethical approval was obtained from the relevant institutional committee.",
                 "Funding was provided by a national research council.",
                 "We discuss the generalisability of these findings to other settings."]
        rng.shuffle(extra)
        abstract += " " + extra.pop() + " " + extra.pop()
        while word_count(abstract) < MIN_WORDS and extra:
            abstract += " " + extra.pop()
        journal = J[rng.choice(spec["journals"])]
        volume, issue, pages, doi = self.biblio(journal, year)
        words = [w.strip(",:?").lower() for w in title.split() if len(w) > 6 and w.lower() not in STOPWORDS]
        study = Study(
            key=self.new_key(), title=title, abstract=abstract,
            authors=self.authors_for(place, rng.randint(2, 7)), year=year, journal=journal, volume=volume,
            issue=issue, pages=pages, doi=doi, keywords=list(dict.fromkeys(words[:4])), on_topic=False,
            kind="off_topic", off_topic_category=category, month=rng.randint(1, 12),
        )
        if journal.medline:
            study.pmid = self.pmid_for(year)
        self.studies.append(study)
        return study

    # ---------------------------------------------------------------- special studies

    def add_specials(self) -> None:
        """Rule exclusions, hard negatives and grey literature, each planted by hand."""
        rng = self.rng
        # Pre-2000 on-topic studies: eligible by content, excluded by the year rule.
        for year in (1996, 1998, 1999):
            s = self.add_on_topic(year=year, stage="delivery", evidence="qualitative_case_study")
            s.exclude_rule = f"year<{MIN_YEAR}"
        # Non-English records (language set in the export).
        es = self.add_on_topic(year=2016, place="Europe (other)", evidence="qualitative_case_study")
        es.title = ("Alianzas de investigación entre universidades, ayuntamientos y comunidades en "
                    "Barcelona: un estudio de caso cualitativo")
        es.journal, es.language, es.exclude_rule = J["gs"], "spa", "language"
        es.volume, es.issue, es.pages, es.doi = self.biblio(es.journal, es.year)
        es.pmid = self.pmid_for(es.year)
        es.pubmed_title = ("[Research partnerships between universities, city councils and communities in "
                           "Barcelona: a qualitative case study].")
        fr = self.add_on_topic(year=2013, place="Canada", evidence="participant_perception")
        fr.title = ("Partenariats de recherche entre universités, municipalités et organismes communautaires à "
                    "Montréal : le point de vue des partenaires")
        fr.journal, fr.language, fr.exclude_rule = J["cjph"], "fre", "language"
        fr.volume, fr.issue, fr.pages, fr.doi = self.biblio(fr.journal, fr.year)
        fr.pmid = self.pmid_for(fr.year)
        fr.pubmed_title = ("[Research partnerships between universities, municipalities and community "
                           "organisations in Montreal: partners' perspectives].")
        # A conference abstract and an editorial.
        conf = self.add_on_topic(year=2019, evidence="participant_perception")
        conf.doc_type, conf.exclude_rule = "conference", "doc_type=conference"
        conf.journal = Journal("Engaged Scholarship Consortium Annual Conference 2019", "", "", "", 2019, False)
        conf.volume, conf.issue, conf.doi, conf.pmid = "", "", "", ""
        conf.abstract = " ".join(conf.abstract.split()[:130])
        ed = self.add_on_topic(year=2020, evidence="qualitative_case_study")
        ed.title = "Place-based research partnerships: time to take the long view"
        ed.doc_type, ed.exclude_rule = "editorial", "doc_type=editorial"
        ed.journal = J["hrps"]
        ed.volume, ed.issue, ed.pages, ed.doi = self.biblio(ed.journal, ed.year)
        ed.pmid = self.pmid_for(ed.year)
        ed.note = "editorial (codes describe its content only)"
        ed.authors = ed.authors[:1]

        # Hard negative 1: identical titles, different years, authors and journals (both eligible).
        same = "Building trust in local research partnerships"
        a = self.add_on_topic(year=2015, themes=["behaviours_values"], subthemes=["trust"])
        b = self.add_on_topic(year=2021, themes=["behaviours_values"], subthemes=["trust"])
        for s in (a, b):
            self.titles.discard(title_key(s.title))
            s.title = same
        b.hard_negative_of = a.key
        a.note = b.note = "hard negative: identical title, different study"
        self.titles.add(title_key(same))
        # Hard negative 2: an erratum with the same title as its article (doc type erratum).
        art = self.add_on_topic(year=2018)
        while art.journal.article_numbers or not art.doi:
            self.studies.pop()
            self.titles.discard(title_key(art.title))
            art = self.add_on_topic(year=2018)
        err = Study(key=self.new_key(), title=art.title, abstract="", authors=list(art.authors), year=2019,
                    journal=art.journal, volume=str(int(art.volume) + 1), issue="1",
                    pages=(str(rng.randint(1, 90)), ""), doi="", keywords=[], on_topic=True, kind="primary",
                    doc_type="erratum", exclude_rule="doc_type=erratum", hard_negative_of=art.key,
                    note="hard negative: erratum with the article's exact title", month=2)
        err.pages = (err.pages[0], err.pages[0])
        err.doi = fill_doi(rng, err.journal, 2019, err.volume, "1")
        self.dois.add(err.doi)
        err.themes, err.subthemes, err.outcomes = list(art.themes), list(art.subthemes), list(art.outcomes)
        err.evidence_type, err.stage, err.place = art.evidence_type, art.stage, art.place
        self.studies.append(err)
        # Hard negative 3: an article and a later letter replying to it (different authors).
        orig = self.add_on_topic(year=2019, themes=["approaches"], subthemes=["co_production"])
        self.titles.discard(title_key(orig.title))
        orig.title = "Co-production is not enough: rethinking research partnerships with local government"
        orig.journal = J["ssm"]
        orig.volume, orig.issue, orig.pages, orig.doi = self.biblio(orig.journal, 2019)
        orig.pmid = self.pmid_for(2019)
        reply = Study(key=self.new_key(), title="Reply to: " + orig.title,
                      abstract="", authors=self.authors_for("UK", 2), year=2021, journal=orig.journal,
                      volume=str(int(orig.volume) + 2), issue="", pages=(str(rng.randint(100, 900)), ""),
                      doi="", keywords=[], on_topic=True, doc_type="letter", exclude_rule="doc_type=letter",
                      hard_negative_of=orig.key, note="hard negative: reply letter quoting the title",
                      month=6)
        reply.doi = fill_doi(rng, reply.journal, 2021, reply.volume, "")
        reply.pmid = self.pmid_for(2021)
        reply.themes, reply.subthemes, reply.outcomes = ["approaches"], ["co_production"], list(orig.outcomes)
        reply.evidence_type, reply.stage, reply.place = orig.evidence_type, orig.stage, orig.place
        self.studies.append(reply)
        # Hard negative 4: a conference abstract and the later journal article, different author sets.
        full = self.add_on_topic(year=2018, themes=["skills_expertise"], subthemes=["knowledge_brokering"])
        cab = Study(key=self.new_key(), title=full.title, abstract=" ".join(full.abstract.split()[:120]),
                    authors=[*self.authors_for(full.place, 1), full.authors[0]], year=2016,
                    journal=Journal("International Conference on Knowledge Mobilization 2016", "", "", "", 2016,
                                    False),
                    volume="", issue="", pages=("", ""), doi="", keywords=list(full.keywords), on_topic=True,
                    doc_type="conference", exclude_rule="doc_type=conference", hard_negative_of=full.key,
                    note="hard negative: earlier conference abstract, different author set", month=5)
        cab.themes, cab.subthemes, cab.outcomes = list(full.themes), list(full.subthemes), list(full.outcomes)
        cab.evidence_type, cab.stage, cab.place = full.evidence_type, full.stage, full.place
        self.studies.append(cab)
        # Hard negative 5: a two-part paper (same authors, year, journal; consecutive pages).
        p1 = self.add_on_topic(year=2022, themes=["infrastructure_systems"], subthemes=["governance"],
                               evidence="qualitative_case_study")
        while p1.journal.article_numbers:
            self.studies.pop()
            self.titles.discard(title_key(p1.title))
            p1 = self.add_on_topic(year=2022, themes=["infrastructure_systems"], subthemes=["governance"],
                                   evidence="qualitative_case_study")
        p2 = self.add_on_topic(year=2022, themes=["behaviours_values"], subthemes=["power_equity"],
                               evidence="qualitative_case_study", place=p1.place, location=p1.location)
        for s, part, topic in ((p1, 1, "structures and agreements"), (p2, 2, "power and voice")):
            self.titles.discard(title_key(s.title))
            s.title = f"Making a city research partnership work. Part {part}: {topic}"
            self.titles.add(title_key(s.title))
        p2.journal, p2.volume, p2.issue, p2.authors = p1.journal, p1.volume, p1.issue, p1.authors
        p2.month, p2.doi = p1.month, ""
        while not p2.doi or p2.doi in self.dois:
            p2.doi = fill_doi(rng, p1.journal, 2022, p1.volume, p1.issue)
        self.dois.add(p2.doi)
        start = int(p1.pages[1]) + 1
        p2.pages = (str(start), str(start + 17))
        p2.hard_negative_of = p1.key
        p1.note = p2.note = "hard negative: two-part paper, same authors/journal/year"
        p2.pmid = self.pmid_for(2022) if p2.journal.medline else ""
        if not p2.journal.medline:
            self.pmids.discard(p2.pmid)
        # Implementation specifics are thin, not absent: one independent evaluation of infrastructure.
        self.add_on_topic(year=2017, stage="delivery", evidence="independent_evaluation",
                          themes=["infrastructure_systems"], subthemes=["coordination_boundary_spanning"])
        # Grey literature found only through Google Scholar: reports (eligible).
        for inst in ("Bristol City Council", "Local Government Association", "Winnipeg Foundation"):
            place = {"Winnipeg Foundation": "Canada"}.get(inst, "UK")
            where = {"Bristol City Council": LOCATIONS["UK"][0], "Winnipeg Foundation": LOCATIONS["Canada"][0]}
            extra = {"location": where[inst]} if inst in where else {}
            rep = self.add_on_topic(year=rng.randint(2014, 2023), place=place, **extra)
            rep.doc_type, rep.institution, rep.doi, rep.pmid = "report", inst, "", ""
            rep.journal = Journal(inst, "", "", "", 1900, False)
            rep.volume, rep.issue, rep.pages = "", "", ("", "")

    # ---------------------------------------------------------------- copies

    def file_weights(self, study: Study) -> dict[str, float]:
        """Which databases can hold a study, and how likely."""
        weights = {"scopus.ris": 0.40, "pubmed.nbib": 0.40, "wos.txt": 0.25, "scholar.bib": 0.16}
        if not study.pmid:
            del weights["pubmed.nbib"]
        if study.doc_type == "report":
            return {"scholar.bib": 1.0}
        if study.doc_type in ("erratum",):
            return {"scopus.ris": 1.0}
        if study.doc_type == "conference":
            return {"scopus.ris": 0.6, "wos.txt": 0.4}
        return weights

    def choose_files(self, study: Study) -> list[str]:
        rng = self.rng
        if study.pubmed_title:
            # Non-English articles: the original title in one database, MEDLINE's bracketed
            # English translation in PubMed -- a duplicate only the DOI/PMID can reveal.
            return ["scopus.ris" if study.language == "spa" else "wos.txt", "pubmed.nbib"]
        weights = self.file_weights(study)
        n = rng.choices((1, 2, 3, 4), weights=(73, 20, 5, 2))[0]
        n = min(n, len(weights))
        chosen: list[str] = []
        while len(chosen) < n:
            names = [f for f in weights if f not in chosen]
            chosen.append(rng.choices(names, weights=[weights[f] for f in names])[0])
        return sorted(chosen, key=FILES1.index)

    def make_copies(self, study: Study, files: list[str], search: str) -> list[Copy]:
        """Copies of ``study``; the first keeps everything, later ones get realistic variations."""
        rng = self.rng
        copies = []
        for i, name in enumerate(files):
            c = Copy(study=study, search=search, file=name, title=study.title, doi=study.doi, year=study.year,
                     abstract=study.abstract)
            if i > 0:
                if study.doi and rng.random() < (0.40 if name == "scholar.bib" else 0.12):
                    c.doi = ""
                    c.variations.append("doi_missing")
                if rng.random() < 0.12 and any(len(w) >= 6 and w.isalpha() for w in study.title.split()):
                    c.title = make_typo(rng, study.title)
                    c.variations.append("title_typo")
                if name in ("pubmed.nbib", "scholar.bib") and rng.random() < 0.05 and study.year > 2005:
                    c.year = study.year - 1
                    c.variations.append("year_epub_ahead")
                if name == "scholar.bib" and rng.random() < 0.3:
                    c.abstract = ""
                    c.variations.append("abstract_missing")
            if name == "scholar.bib":
                if study.journal.abbrev and rng.random() < 0.3:
                    c.journal_abbrev = True
                    c.variations.append("journal_abbreviated")
                if study.pages[1] and rng.random() < 0.25:
                    c.pages_endash = True
                    c.variations.append("pages_endash")
            if name == "wos.txt" and (study.year < 2012 or rng.random() < 0.15):
                c.title = c.title.upper()
                c.variations.append("title_upper")
            if name == "wos.txt":
                c.variations.append("journal_upper")
            if name == "pubmed.nbib":
                if study.pages[1]:
                    c.variations.append("pages_abbreviated")
                c.variations.append("journal_abbrev_and_full")
                if study.pubmed_title:
                    c.title = study.pubmed_title
                    c.variations.append("title_translated")
            copies.append(c)
        return copies


# --------------------------------------------------------------------------------------------
# Writers: each database's export format
# --------------------------------------------------------------------------------------------


def medline_pages(first: str, last: str) -> str:
    """MEDLINE abbreviates page ranges (``123-129`` -> ``123-9``)."""
    if not last:
        return first
    i = 0
    while i < len(first) and i < len(last) - 1 and len(first) == len(last) and first[i] == last[i]:
        i += 1
    return f"{first}-{last[i:]}"


def scopus_ris(copies: list[Copy]) -> str:
    """Scopus RIS export (tag order as Scopus writes it)."""
    out: list[str] = []
    for c in copies:
        s = c.study
        conf = s.doc_type == "conference"
        out.append("TY  - CONF" if conf else "TY  - JOUR")
        out.append(f"TI  - {c.title}")
        out.append(f"T2  - {s.journal.name}")
        if conf:
            out.append(f"J2  - {s.journal.name}")
        if s.volume:
            out.append(f"VL  - {s.volume}")
        if s.issue:
            out.append(f"IS  - {s.issue}")
        if s.pages[0]:
            out.append(f"SP  - {s.pages[0]}")
        if s.pages[1]:
            out.append(f"EP  - {s.pages[1]}")
        out.append(f"PY  - {c.year}")
        if c.doi:
            out.append(f"DO  - {c.doi}")
        for surname, given in s.authors:
            out.append(f"AU  - {surname}, {'.'.join(initials(given))}.")
        if c.abstract:
            text = c.abstract
            if int(hashlib.md5(s.key.encode()).hexdigest(), 16) % 2:
                text += f" © {c.year} The Author(s)."
            out.append(f"AB  - {text}")
        for kw in s.keywords:
            out.append(f"KW  - {kw}")
        if s.journal.issn:
            out.append(f"SN  - {s.journal.issn.replace('-', '')}")
        lang = {"eng": "English", "spa": "Spanish", "fre": "French"}[s.language]
        out.append(f"LA  - {lang}")
        out.append(f"N1  - Export Date: {EXPORT_DATE[c.search]}")
        m3 = {"article": "Article", "review": "Review", "conference": "Conference Paper",
              "editorial": "Editorial", "erratum": "Erratum", "letter": "Letter"}[s.doc_type]
        out.append(f"M3  - {m3}")
        out.append("DB  - Scopus")
        eid = 84_000_000_000 + int(hashlib.md5(f"{s.key}eid".encode()).hexdigest(), 16) % 999_999_999
        md5 = hashlib.md5(f"{s.key}{c.search}".encode()).hexdigest()
        doi_part = f"&doi={c.doi.replace('/', '%2f')}" if c.doi else ""
        out.append(f"UR  - https://www.scopus.com/inward/record.uri?eid=2-s2.0-{eid}{doi_part}"
                   f"&partnerID=40&md5={md5}")
        out.append("ER  - ")
        out.append("")
    return "\n".join(out) + "\n"


def wrap_medline(tag: str, text: str) -> list[str]:
    """A MEDLINE field: ``TAG - `` then text wrapped at 80 columns, 6-space continuations."""
    lines = textwrap.wrap(text, width=74, break_on_hyphens=False, break_long_words=False) or [""]
    head = f"{tag:<4}- "
    return [head + lines[0]] + ["      " + line for line in lines[1:]]


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def pubmed_nbib(copies: list[Copy]) -> str:
    """PubMed MEDLINE (.nbib) export: records separated by a blank line."""
    out: list[str] = []
    for c in copies:
        s = c.study
        j = s.journal
        out.append("")
        out.append(f"PMID- {s.pmid}")
        out.append("OWN - NLM")
        out.append("STAT- MEDLINE" if c.year < 2023 else "STAT- PubMed-not-MEDLINE")
        out.append(f"IS  - {j.issn} (Electronic)")
        out.append(f"IS  - {j.issn} (Linking)")
        if s.volume:
            out.append(f"VI  - {s.volume}")
        if s.issue:
            out.append(f"IP  - {s.issue}")
        out.append(f"DP  - {c.year} {MONTHS[s.month - 1]}")
        out.extend(wrap_medline("TI", c.title))
        pages = medline_pages(*s.pages)
        if pages:
            out.append(f"PG  - {pages}")
        if c.doi:
            out.append(f"LID - {c.doi} [doi]")
        abstract = c.abstract
        if abstract and j.structured:
            abstract = structure(abstract, upper=True)
        if abstract:
            out.extend(wrap_medline("AB", abstract))
        for surname, given in s.authors:
            out.append(f"FAU - {surname}, {given.replace('.', '')}")
            out.append(f"AU  - {ascii_fold(surname)} {''.join(initials(given))}")
        out.append(f"LA  - {s.language}")
        pt = {"article": "Journal Article", "review": "Systematic Review", "editorial": "Editorial",
              "letter": "Letter", "conference": "Congress"}[s.doc_type]
        if s.doc_type in ("review", "letter", "editorial"):
            out.append("PT  - Journal Article" if s.doc_type == "review" else f"PT  - {pt}")
            if s.doc_type == "review":
                out.append(f"PT  - {pt}")
        else:
            out.append(f"PT  - {pt}")
        out.append(f"DEP - {c.year}{s.month:02d}15")
        out.append("PL  - England")
        out.append(f"TA  - {j.abbrev}")
        out.append(f"JT  - {j.name}")
        if j.nlm_id:
            out.append(f"JID - {j.nlm_id}")
        if s.keywords:
            out.append("OTO - NOTNLM")
            for kw in s.keywords:
                out.append(f"OT  - {kw}")
        out.append(f"EDAT- {c.year}/{s.month:02d}/16 06:00")
        out.append(f"CRDT- {c.year}/{s.month:02d}/15 12:34")
        if c.doi:
            out.append(f"AID - {c.doi} [doi]")
        out.append("PST - ppublish")
        where = f"{s.volume}({s.issue})" if s.issue else s.volume
        so = f"{j.abbrev}. {c.year} {MONTHS[s.month - 1]};{where}:{pages}."
        if c.doi:
            so += f" doi: {c.doi}."
        out.extend(wrap_medline("SO", so))
    return "\n".join(out) + "\n"


def structure(abstract: str, *, upper: bool) -> str:
    """Label an abstract's sentences as Background/Methods/Results/Conclusions (BMC, BMJ style)."""
    sentences = re.split(r"(?<=\.) (?=[A-Z])", abstract)
    if len(sentences) < 5:
        return abstract
    labels = ("Background", "Methods", "Results", "Conclusions")
    cut = [0, 2, 3, len(sentences) - 1, len(sentences)]
    parts = []
    for label, a, b in zip(labels, cut, cut[1:]):
        name = label.upper() if upper else label
        parts.append(f"{name}: " + " ".join(sentences[a:b]))
    return " ".join(parts)


def wos_wrap(tag: str, text: str, width: int = 70) -> list[str]:
    lines = textwrap.wrap(text, width=width, break_on_hyphens=False, break_long_words=False) or [""]
    return [f"{tag} {lines[0]}"] + ["   " + line for line in lines[1:]]


def wos_tagged(copies: list[Copy]) -> str:
    """Web of Science plain text (tagged) export."""
    out = ["FN Clarivate Analytics Web of Science", "VR 1.0"]
    for c in copies:
        s = c.study
        out.append("PT J")
        for i, (surname, given) in enumerate(s.authors):
            out.append(("AU " if i == 0 else "   ") + f"{ascii_fold(surname)}, {''.join(initials(given))}")
        for i, (surname, given) in enumerate(s.authors):
            out.append(("AF " if i == 0 else "   ") + f"{surname}, {given}")
        out.extend(wos_wrap("TI", c.title))
        out.append(f"SO {s.journal.name.upper()}")
        lang = {"eng": "English", "spa": "Spanish", "fre": "French"}[s.language]
        out.append(f"LA {lang}")
        dt = {"article": "Article", "review": "Review", "conference": "Meeting Abstract",
              "editorial": "Editorial Material", "letter": "Letter", "erratum": "Correction"}[s.doc_type]
        out.append(f"DT {dt}")
        if s.keywords:
            out.extend(wos_wrap("DE", "; ".join(s.keywords)))
        if c.abstract:
            out.append(f"AB {c.abstract}")
        if s.journal.issn:
            out.append(f"SN {s.journal.issn}")
        out.append(f"PD {MONTHS[s.month - 1].upper()}")
        out.append(f"PY {c.year}")
        if s.volume:
            out.append(f"VL {s.volume}")
        if s.issue:
            out.append(f"IS {s.issue}")
        if s.pages[1]:
            out.append(f"BP {s.pages[0]}")
            out.append(f"EP {s.pages[1]}")
        elif s.pages[0]:
            out.append(f"AR {s.pages[0]}")
        if c.doi:
            out.append(f"DI {c.doi}")
        ut = int(hashlib.md5(f"{s.key}ut".encode()).hexdigest(), 16) % 10**12
        out.append(f"UT WOS:000{ut:012d}")
        if s.pmid:
            out.append(f"PM {s.pmid}")
        out.append("ER")
        out.append("")
    out.append("EF")
    return "\n".join(out) + "\n"


def bib_escape(text: str) -> str:
    return text.replace("\\", "\\textbackslash{}").replace("&", "\\&").replace("%", "\\%").replace(
        "#", "\\#").replace("_", "\\_")


def bib_title(title: str) -> str:
    """Zotero protects capitalised words after the first with braces."""
    words = title.split(" ")
    out = [words[0]] + [f"{{{w}}}" if any(ch.isupper() for ch in w) else w for w in words[1:]]
    return bib_escape(" ".join(out))


def bib_key(c: Copy) -> str:
    surname = re.sub(r"[^a-z]", "", ascii_fold(c.study.authors[0][0]).lower())
    first = next((re.sub(r"[^a-z]", "", ascii_fold(w).lower()) for w in c.title.split()
                  if re.sub(r"[^a-z]", "", ascii_fold(w).lower()) not in STOPWORDS), "untitled")
    return f"{surname}_{first}_{c.year}"


def scholar_bib(copies: list[Copy]) -> str:
    """Zotero BibTeX export of a library filled from Google Scholar (entries sorted by key)."""
    keyed: list[tuple[str, Copy]] = []
    seen: dict[str, int] = {}
    for c in copies:
        base = bib_key(c)
        n = seen.get(base, 0)
        seen[base] = n + 1
        keyed.append((base if n == 0 else f"{base}_{n}", c))
    out: list[str] = []
    for key, c in keyed:
        s = c.study
        kind = {"report": "techreport", "conference": "inproceedings"}.get(s.doc_type, "article")
        fields: list[tuple[str, str]] = [("title", bib_title(c.title))]
        if s.volume:
            fields.append(("volume", s.volume))
        if s.journal.issn:
            fields.append(("issn", s.journal.issn))
        if c.doi:
            fields.append(("url", f"https://doi.org/{c.doi}"))
            fields.append(("doi", c.doi))
        if c.abstract:
            fields.append(("abstract", bib_escape(c.abstract)))
        if s.language != "eng":
            fields.append(("language", {"spa": "es", "fre": "fr"}[s.language]))
        if s.issue:
            fields.append(("number", s.issue))
        if kind == "article":
            fields.append(("journal", bib_escape(s.journal.abbrev if c.journal_abbrev else s.journal.name)))
        elif kind == "techreport":
            fields.append(("institution", bib_escape(s.institution)))
        else:
            fields.append(("booktitle", bib_escape(s.journal.name)))
        authors = " and ".join(f"{surname}, {given}" for surname, given in s.authors)
        fields.append(("author", bib_escape(authors)))
        fields.append(("month", ""))  # placeholder: Zotero writes the month macro unbraced
        fields.append(("year", str(c.year)))
        if s.keywords:
            fields.append(("keywords", bib_escape(", ".join(s.keywords))))
        if s.pages[1]:
            dash = "–" if c.pages_endash else "--"
            fields.append(("pages", f"{s.pages[0]}{dash}{s.pages[1]}"))
        elif s.pages[0]:
            fields.append(("pages", s.pages[0]))
        month = MONTHS[s.month - 1].lower()
        body = ",\n".join(f"\tmonth = {month}" if name == "month" else f"\t{name} = {{{value}}}"
                          for name, value in fields)
        out.append(f"\n@{kind}{{{key},\n{body},\n}}\n")
    return "".join(out)


WRITERS = {"scopus.ris": scopus_ris, "pubmed.nbib": pubmed_nbib, "wos.txt": wos_tagged,
           "scholar.bib": scholar_bib}


def order_copies(name: str, copies: list[Copy], rng: random.Random) -> list[Copy]:
    """Each database's own result order (Scopus: newest first; PubMed: PMID descending)."""
    if name == "scopus.ris":
        return sorted(copies, key=lambda c: (-c.year, c.study.key))
    if name == "pubmed.nbib":
        return sorted(copies, key=lambda c: -int(c.study.pmid))
    if name == "scholar.bib":
        return sorted(copies, key=lambda c: (bib_key(c), c.study.key))
    shuffled = sorted(copies, key=lambda c: c.study.key)
    rng.shuffle(shuffled)
    return shuffled


# --------------------------------------------------------------------------------------------
# Truth, decisions, counts
# --------------------------------------------------------------------------------------------


def csv_text(header: list[str], rows: list[list[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def include_expected(s: Study) -> bool:
    """Should a correct screen include this study? (on topic and passing every eligibility rule)."""
    return s.on_topic and not s.exclude_rule


def gap_cells(studies: list[Study]) -> list[dict[str, object]]:
    """The planted gap cells and their actual counts among studies a correct screen includes."""
    inc = [s for s in studies if include_expected(s)]
    primary = [s for s in inc if s.kind == "primary"]
    reviews = [s for s in inc if s.kind == "review"]

    def count(pool: list[Study], **want: str) -> int:
        n = 0
        for s in pool:
            ok = True
            for dim, value in want.items():
                have = {"theme": s.themes, "outcome_level": s.outcomes, "evidence_type": [s.evidence_type],
                        "stage": [s.stage], "place": [s.place]}[dim]
                ok = ok and value in have
            n += ok
        return n

    stage_counts = {st: count(primary, stage=st) for st in STAGES}
    return [
        {"gap": "absolute", "rows": "evidence_type", "row": "longitudinal", "columns": "stage",
         "column": "initiation_setup", "studies": count(primary, evidence_type="longitudinal",
                                                         stage="initiation_setup"),
         "expected": "0", "why": "no longitudinal evaluation of partnership set-up at all"},
        {"gap": "sparse", "rows": "stage", "row": "initiation_setup", "columns": "", "column": "",
         "studies": stage_counts["initiation_setup"], "expected": "<= 12% of primary studies",
         "share": round(stage_counts["initiation_setup"] / len(primary), 3),
         "why": "early-stage set-up is thin (delivery and evaluation_sustainment dominate)"},
        {"gap": "sparse", "rows": "theme", "row": "infrastructure_systems", "columns": "evidence_type",
         "column": "independent_evaluation", "studies": count(primary, theme="infrastructure_systems",
                                                              evidence_type="independent_evaluation"),
         "expected": "<= 2", "why": "implementation specifics (governance, roles, funding, time) are rarely "
                                   "independently evaluated"},
        {"gap": "synthesis", "rows": "theme", "row": "behaviours_values", "columns": "outcome_level",
         "column": "organisational", "studies": count(primary, theme="behaviours_values",
                                                      outcome_level="organisational"),
         "reviews": count(reviews, theme="behaviours_values", outcome_level="organisational"),
         "expected": ">= 15 primary studies, 0 reviews",
         "why": "many primary studies but no review synthesising them"},
    ]


def build(seed: int = SEED) -> dict[str, str]:
    """Generate every output file: ``{relative path: text}``."""
    g = Generator(seed)
    rng = g.rng
    # Round 1 studies.
    for _ in range(196):
        g.add_on_topic()
    for _ in range(10):
        g.add_on_topic(kind="review")
    g.add_specials()
    counts = {"clinical_trial": 16, "lab_study": 9, "business_partnership": 12, "university_industry": 8,
              "couples": 6, "teacher_education": 6, "care_integration": 8}
    for category, n in counts.items():
        for _ in range(n):
            g.add_off_topic(category)
    round1 = list(g.studies)

    copies1: list[Copy] = []
    for s in round1:
        copies1.extend(g.make_copies(s, g.choose_files(s), ROUND1))
    # Hard negatives must meet in at least one file each way round (so dedup really compares them):
    # make sure both members of every pair are in scopus.ris.
    by_key = {s.key: s for s in round1}
    for s in round1:
        if s.hard_negative_of:
            for member in (s, by_key[s.hard_negative_of]):
                if member.doc_type != "report" and not any(
                        c.study is member and c.file == "scopus.ris" for c in copies1):
                    c = Copy(study=member, search=ROUND1, file="scopus.ris", title=member.title,
                             doi=member.doi, year=member.year, abstract=member.abstract)
                    copies1.append(c)

    files: dict[str, str] = {}
    placed1: list[Copy] = []
    for name in FILES1:
        ordered = order_copies(name, [c for c in copies1 if c.file == name], rng)
        for i, c in enumerate(ordered):
            c.source_index = i
        placed1.extend(ordered)
        files[f"{RAW1}/{name}"] = WRITERS[name](ordered)

    # Round 2: ~10% new studies plus re-exports of 30 earlier ones.
    g.counter = max(g.counter, 900)
    new2: list[Study] = []
    for _ in range(24):
        s = g.add_on_topic(year=rng.choice((2024, 2025)))
        while not s.journal.medline and rng.random() < 0.3:
            g.studies.pop()
            s = g.add_on_topic(year=rng.choice((2024, 2025)))
        s.first_round = ROUND2
        new2.append(s)
    for category in ("clinical_trial", "clinical_trial", "business_partnership", "care_integration",
                     "university_industry", "lab_study"):
        s = g.add_off_topic(category, year=rng.choice((2024, 2025)))
        s.first_round = ROUND2
        new2.append(s)
    seen_pool = sorted((s for s in round1 if s.doc_type in ("article", "review") and s.year >= 2019),
                       key=lambda s: s.key)
    reexported = sorted(rng.sample(seen_pool, 30), key=lambda s: s.key)
    copies2: list[Copy] = []
    for s in new2 + reexported:
        name = "pubmed.nbib" if s.pmid and rng.random() < 0.45 else "scopus.ris"
        (c,) = g.make_copies(s, [name], ROUND2)
        if s.first_round == ROUND1:
            c.variations.append("re_export")
        copies2.append(c)
    placed2: list[Copy] = []
    for name in FILES2:
        ordered = order_copies(name, [c for c in copies2 if c.file == name], rng)
        for i, c in enumerate(ordered):
            c.source_index = i
        placed2.extend(ordered)
        files[f"{UPDATE_DIR}/{name}"] = WRITERS[name](ordered)

    placed = placed1 + placed2
    record_ids = {id(c): make_record_id(c.search, f"data/raw/{c.search}/{c.file}", c.source_index)
                  for c in placed}
    files[DECISIONS] = decisions_csv(round1, placed1, record_ids, rng)
    files[f"{TRUTH_DIR}/studies.csv"] = studies_csv(g.studies, placed)
    files[f"{TRUTH_DIR}/records.csv"] = records_csv(placed, record_ids)
    expected = expected_counts(round1, new2, reexported, placed1, placed2, files[DECISIONS])
    files[f"{TRUTH_DIR}/expected_counts.json"] = json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
    files[f"{TRUTH_DIR}/README.md"] = readme(expected)
    return files


def studies_csv(studies: list[Study], placed: list[Copy]) -> str:
    header = ["study_key", "first_round", "on_topic", "include_expected", "exclude_rule", "kind",
              "off_topic_category", "doc_type", "language", "year", "themes", "subthemes", "outcome_levels",
              "evidence_type", "stage", "place", "hard_negative_of", "n_records_round1", "n_records_round2",
              "doi", "pmid", "title", "note"]
    rows = []
    for s in sorted(studies, key=lambda s: s.key):
        n1 = sum(c.study is s and c.search == ROUND1 for c in placed)
        n2 = sum(c.study is s and c.search == ROUND2 for c in placed)
        rows.append([s.key, s.first_round, int(s.on_topic), int(include_expected(s)), s.exclude_rule, s.kind,
                     s.off_topic_category, s.doc_type, s.language, s.year, ";".join(s.themes),
                     ";".join(s.subthemes), ";".join(s.outcomes), s.evidence_type, s.stage, PLACE_ID.get(s.place, ""),
                     s.hard_negative_of, n1, n2, s.doi, s.pmid, s.title, s.note])
    return csv_text(header, rows)


def records_csv(placed: list[Copy], record_ids: dict[int, str]) -> str:
    header = ["search", "file", "source_file", "source_index", "record_id", "study_key", "database",
              "variations"]
    rows = []
    for c in placed:
        where = RAW1 if c.search == ROUND1 else UPDATE_DIR
        rows.append([c.search, f"{where}/{c.file}", f"data/raw/{c.search}/{c.file}", c.source_index,
                     record_ids[id(c)], c.study.key, DATABASE[c.file], ";".join(c.variations)])
    return csv_text(header, rows)


OFF_REASON = {"clinical_trial": "not a research partnership: clinical trial",
              "lab_study": "not a research partnership: laboratory study",
              "business_partnership": "wrong meaning of partnership: commercial/public-private contract",
              "university_industry": "university-industry commercialisation, not place-based research",
              "couples": "wrong meaning of partnership: couples",
              "teacher_education": "teacher training partnership, not research",
              "care_integration": "service integration partnership, not research"}


def decisions_csv(round1: list[Study], placed1: list[Copy], record_ids: dict[int, str],
                  rng: random.Random) -> str:
    """~40 screening decisions by two reviewers on round-1 records, with a few conflicts.

    Keys are record ids (any member record of a study): a decision must follow the study whatever
    copy the reviewer happened to look at. Most decisions agree with the truth; the planted
    conflicts are listed in expected_counts.json.
    """
    eligible = sorted((s for s in round1 if not s.exclude_rule and s.doc_type != "report"), key=lambda s: s.key)
    on = [s for s in eligible if s.on_topic]
    off = [s for s in eligible if not s.on_topic]
    picked = rng.sample(on, 22) + rng.sample(off, 12)
    rng.shuffle(picked)  # reviewers meet on- and off-topic records in no particular order
    copies_of: dict[str, list[Copy]] = {}
    for c in placed1:
        copies_of.setdefault(c.study.key, []).append(c)
    rows: list[list[str]] = []
    clock = [0]

    def stamp() -> str:
        clock[0] += rng.randint(40, 600)
        day, sec = divmod(clock[0], 6 * 3600)
        h, rem = divmod(sec, 3600)
        return f"2024-04-{2 + day:02d}T{9 + h:02d}:{rem // 60:02d}:{rem % 60:02d}Z"

    def decide(s: Study, reviewer: str, decision: str | None = None, copy: Copy | None = None) -> None:
        c = copy or rng.choice(copies_of[s.key])
        if decision is None:
            decision = "include" if s.on_topic else "exclude"
        reason = {"include": "place-based partnership researching a local challenge",
                  "maybe": "unclear whether local government is a research partner",
                  "exclude": OFF_REASON.get(s.off_topic_category, "not about research partnerships")}[decision]
        rows.append([record_ids[id(c)], decision, reviewer, reason, stamp()])

    for i, s in enumerate(picked):
        decide(s, "reviewer_a" if i % 2 == 0 else "reviewer_b")
    # Double-screened: agreements, then three same-key conflicts and one cross-copy conflict.
    for s in picked[:2]:
        decide(s, "reviewer_b" if picked.index(s) % 2 == 0 else "reviewer_a",
               copy=next(c for c in copies_of[s.key] if record_ids[id(c)] == rows[picked.index(s)][0]))
    conflicts = []
    for s in picked[2:5]:
        first = rows[picked.index(s)]
        other = "reviewer_b" if first[2] == "reviewer_a" else "reviewer_a"
        flip = "maybe" if s.on_topic else "include"
        c = next(c for c in copies_of[s.key] if record_ids[id(c)] == first[0])
        decide(s, other, flip, copy=c)
        conflicts.append(first[0])
    multi = [s for s in picked[5:] if len(copies_of[s.key]) > 1]
    s = multi[0]
    first = rows[picked.index(s)]
    c = next(c for c in copies_of[s.key] if record_ids[id(c)] != first[0])
    decide(s, "reviewer_b" if first[2] == "reviewer_a" else "reviewer_a",
           "exclude" if s.on_topic else "include", copy=c)
    # A "maybe" from each reviewer on otherwise undecided on-topic studies.
    rest = [x for x in on if x not in picked]
    for reviewer, s in zip(("reviewer_a", "reviewer_b"), rng.sample(rest, 2)):
        decide(s, reviewer, "maybe")
    return csv_text(["key", "decision", "reviewer", "reason", "timestamp"], rows)


def expected_counts(round1: list[Study], new2: list[Study], reexported: list[Study], placed1: list[Copy],
                    placed2: list[Copy], decisions: str) -> dict[str, object]:
    per_file = {f"{RAW1}/{name}": sum(c.file == name for c in placed1) for name in FILES1}
    per_db = {DATABASE[name]: sum(c.file == name for c in placed1) for name in FILES1}
    studies_in_files = {}
    for c in placed1:
        studies_in_files.setdefault(c.study.key, set()).add(c.file)
    multi = sum(len(v) > 1 for v in studies_in_files.values())
    rules: dict[str, int] = {}
    for s in round1:
        if s.exclude_rule:
            rules[s.exclude_rule] = rules.get(s.exclude_rule, 0) + 1
    rows = list(csv.reader(io.StringIO(decisions)))[1:]
    by_key: dict[str, set[str]] = {}
    for key, decision, *_ in rows:
        by_key.setdefault(key, set()).add(decision)
    record_study = {id(c): c.study.key for c in placed1}
    rid_study = {make_record_id(c.search, f"data/raw/{c.search}/{c.file}", c.source_index): record_study[id(c)]
                 for c in placed1}
    by_study: dict[str, set[str]] = {}
    for key, decision, *_ in rows:
        by_study.setdefault(rid_study[key], set()).add(decision)
    by_key_study = {s.key: s for s in round1}
    return {
        "synthetic": True,
        "seed": SEED,
        "round1": {
            "search": ROUND1,
            "records_per_file": per_file,
            "records_per_database": per_db,
            "total_records": len(placed1),
            "unique_studies": len(round1),
            "duplicates_to_remove": len(placed1) - len(round1),
            "studies_in_2plus_files": multi,
            "share_studies_in_2plus_files": round(multi / len(round1), 3),
            "hard_negative_pairs": sum(bool(s.hard_negative_of) for s in round1),
            "on_topic_studies": sum(s.on_topic for s in round1),
            "off_topic_studies": sum(not s.on_topic for s in round1),
            "rule_exclusions": dict(sorted(rules.items())),
            "rule_exclusions_total": sum(rules.values()),
            "include_expected": sum(include_expected(s) for s in round1),
            "reviews_included": sum(include_expected(s) and s.kind == "review" for s in round1),
        },
        "round2": {
            "search": ROUND2,
            "folder": UPDATE_DIR,
            "records_per_file": {f"{UPDATE_DIR}/{n}": sum(c.file == n for c in placed2) for n in FILES2},
            "total_records": len(placed2),
            "new_studies": len(new2),
            "new_on_topic": sum(s.on_topic for s in new2),
            "re_exported_round1_studies": len(reexported),
            "unique_studies_after_update": len(round1) + len(new2),
        },
        "decisions": {
            "file": DECISIONS,
            "rows": len(rows),
            "by_decision": dict(sorted(Counter(row[1] for row in rows).items())),
            "by_reviewer": dict(sorted(Counter(row[2] for row in rows).items())),
            "distinct_keys": len(by_key),
            "studies_decided": len(by_study),
            "conflicting_keys": sorted(k for k, v in by_key.items() if len(v) > 1),
            "conflicting_studies": sorted(k for k, v in by_study.items() if len(v) > 1),
            # include-expected studies the reviewers hold back (a standing "maybe", or a conflict
            # waiting for resolution): no machine may include them, so they are not in PRISMA's
            # included count until a reviewer decides
            "held_by_reviewers": sorted(k for k, v in by_study.items()
                                        if include_expected(by_key_study[k]) and (v == {"maybe"} or len(v) > 1)),
        },
        "eligibility_rules": {"min_year": MIN_YEAR, "languages": ["eng"],
                              "doc_types": list(ELIGIBLE_DOC_TYPES)},
        "gap_cells": gap_cells(round1),
        "gap_cells_after_update": gap_cells(round1 + new2),
    }


def readme(expected: dict[str, object]) -> str:
    r1 = expected["round1"]
    r2 = expected["round2"]
    dec = expected["decisions"]
    assert isinstance(r1, dict) and isinstance(r2, dict) and isinstance(dec, dict)
    per_file = "\n".join(f"| `{k}` | {v} |" for k, v in r1["records_per_file"].items())
    gaps = "\n".join(
        f"| {g['gap']} | {g['rows']}={g['row']}" + (f" x {g['columns']}={g['column']}" if g["columns"] else "")
        + f" | {g['studies']}" + (f" (reviews: {g['reviews']})" if "reviews" in g else "")
        + f" | {g['expected']} | {g['why']} |"
        for g in expected["gap_cells"]  # type: ignore[union-attr]
    )
    rules = ", ".join(f"{k}: {v}" for k, v in r1["rule_exclusions"].items())
    return f"""# Demo review: planted truth

**THE DEMO DATA ARE SYNTHETIC.** Every title, abstract, author, DOI, PMID and Scopus/WoS id in
`data/raw/{ROUND1}/`, `data/demo/` and `data/decisions/screening.csv` was invented by
`scripts/make_demo_review.py` (seed {SEED}). They describe no real publication; DOIs and PMIDs
follow real patterns but must not be looked up or cited. Regenerate with
`python scripts/make_demo_review.py` (byte-identical output; `tests/test_demo_data.py` checks).

## The review
Place-based research partnerships: universities, local government and communities researching
local challenges together. Studies are coded on the codebook dimensions theme
(infrastructure_systems, skills_expertise, approaches, behaviours_values; plus sub-themes),
outcome_level (individual, organisational, societal), evidence_type (participant_perception,
qualitative_case_study, independent_evaluation, longitudinal; review for systematic reviews),
stage (initiation_setup, delivery, evaluation_sustainment) and place (UK, Australia, USA,
Canada, Europe (other), Global South). The truth tables use the code ids of
`config/codebook.yaml` (place: uk, australia, usa, canada, europe, global_south). Abstracts are
written from varied sentence banks per sub-theme, method, stage and outcome, and name the place
(city and country/region), so a text model can recover the codes without a single give-away
keyword.

## Round 1: `data/raw/{ROUND1}/` ({r1['total_records']} records, {r1['unique_studies']} studies)

| file | records |
|---|---|
{per_file}

- Exports written as the databases write them: Scopus RIS (`DB  - Scopus`, `M3` types, initials
  with dots, `© year` lines on some abstracts), PubMed MEDLINE (`PMID-`, `FAU`/`AU`, `TA`/`JT`,
  `LID ... [doi]`, abbreviated page ranges `123-9`, 6-space continuations, structured
  `BACKGROUND:` abstracts for BMC/BMJ journals), Web of Science tagged (`FN`/`VR`, `AU`/`AF`,
  upper-case `SO`, `UT WOS:`, 3-space continuations, `EF`) and Zotero BibTeX (`--` pages,
  braces around capitalised words, `\\&` escapes).
- Cross-database duplicates: {r1['studies_in_2plus_files']} studies
  ({r1['share_studies_in_2plus_files']:.0%}) are in two or more files; removing duplicates
  leaves {r1['unique_studies']} studies ({r1['duplicates_to_remove']} records to remove).
  Copies differ as real ones do; `records.csv`'s `variations` column lists each record's
  differences: `doi_missing`, `title_typo`, `title_upper` (WoS, mostly pre-2012),
  `journal_upper` (WoS), `journal_abbreviated` (BibTeX), `journal_abbrev_and_full` (PubMed),
  `pages_abbreviated` (PubMed `123-9`), `pages_endash` (BibTeX `123–129`),
  `year_epub_ahead` (year one earlier), `abstract_missing` (BibTeX), `title_translated`
  (PubMed's bracketed English title of a non-English article).
- {r1['hard_negative_pairs']} hard negatives (pairs that must NOT be merged; `hard_negative_of` in
  `studies.csv`): two different articles with the identical title "Building trust in local
  research partnerships" (2015 and 2021, different authors and journals); an erratum with its
  article's exact title (one year later); a 2021 "Reply to: ..." letter quoting a 2019 article's
  title; a 2016 conference abstract and the 2018 journal article with the same title but a
  different author set; and a two-part paper ("Part 1"/"Part 2", same authors, journal, year and
  consecutive pages). Both members of each pair are in `scopus.ris`.
- Screening truth: {r1['on_topic_studies']} on-topic studies (including {r1['reviews_included']}
  systematic/scoping reviews), {r1['off_topic_studies']} off-topic ones that a reviewer would
  exclude (clinical trials, laboratory studies, public-private and commercial partnerships,
  university-industry commercialisation, couples' "partnership quality", school-university
  teacher training, health and social care integration boards), and {r1['rule_exclusions_total']}
  studies that eligibility rules should exclude ({rules}). The rules assumed: year >= {MIN_YEAR},
  language eng (or missing), document type in {', '.join(ELIGIBLE_DOC_TYPES)}.
  `include_expected` = on topic and not excluded by a rule: {r1['include_expected']} studies.
  Three council/charity reports are grey literature found only via Google Scholar
  (`@techreport`, eligible).

## Planted evidence gaps (counted over `include_expected` primary studies)

| kind | cell | studies | designed as | why |
|---|---|---|---|---|
{gaps}

`expected_counts.json` repeats these (`gap_cells`, and `gap_cells_after_update` once the
update round is added: the gaps still hold).

## Update round: `{UPDATE_DIR}/`
Not under `data/raw`, so the default workflow does not see it. To simulate re-running the review a
year later, copy the folder to `data/raw/{ROUND2}/` (and add the round to `config/config.yaml`'s
`searches`). It holds {r2['total_records']} records: {r2['new_studies']} new studies
({r2['new_on_topic']} on topic, published 2024-2025) and re-exports of
{r2['re_exported_round1_studies']} round-1 studies (variation `re_export`) that deduplication must
recognise as already seen (their study ids must not change). `records.csv` gives their
`record_id`s as ingest will compute them from the copied location `data/raw/{ROUND2}/<file>`.

## Reviewer decisions: `{DECISIONS}`
{dec['rows']} decisions by `reviewer_a` and `reviewer_b` on round-1 records ({dec['studies_decided']}
studies). Keys are record ids (`evreview.records.make_record_id(search, source_file, index)` with
`source_file` = `data/raw/{ROUND1}/<file>`, index 0-based in the file). Planted conflicts: the same key
decided differently ({len(dec['conflicting_keys'])} keys) and one study decided differently through two
different member records (so only visible after resolving keys via duplicates.csv):
{len(dec['conflicting_studies'])} conflicting studies in all. Decisions by type:
{', '.join(f"{k} {v}" for k, v in dec['by_decision'].items())}; by reviewer:
{', '.join(f"{k} {v}" for k, v in dec['by_reviewer'].items())}.

## Files
- `studies.csv`: one row per study (`study_key` D001...; round-2 studies from D901); truth codes
  (`themes`, `subthemes`, `outcome_levels` `;`-separated), screening truth, hard-negative links,
  number of records per round.
- `records.csv`: one row per exported record: its `file` (where it is committed), `source_file`
  (the path ingest records and the record id is computed from: for round 2, after copying into
  `data/raw/`), 0-based `source_index`, `record_id`, the `study_key` it belongs to (records
  sharing a study key are duplicates), and its `variations`.
- `expected_counts.json`: the figures above, machine-readable.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1],
                        help="root folder to write data/ under (default: the repository)")
    args = parser.parse_args(argv)
    files = build()
    for rel, text in sorted(files.items()):
        path = args.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    total = sum(len(t.encode()) for t in files.values())
    print(f"wrote {len(files)} files ({total / 1024:.0f} KiB) under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
